/**
 * The trace families over many seeds: each seed draws a trace of the family and replays it under
 * `packed`. `npm run bench` reports them at the fleet's defaults; `npm run bench:scale-in` at each
 * scale-in idle time it compares.
 */
import type { SimResult } from "../sim/engine";
import { percentile } from "../sim/engine";
import { type StandardTrace, TRACE_FAMILIES } from "../sim/generators";
import { buildOptions } from "../sim/options";
import { simulate } from "../sim/simulate";
import { formatTrace, parseTrace } from "../sim/trace";

/** Seeds each family is replayed with: 1 to this. */
export const FAMILY_SEEDS = 20;

/** The most instance-hours `packed` may use on a family's worst seed, as a multiple of the never-cut reference plus its spare. */
export const FAMILY_COST_TARGET = 1.05;

/** One family's runs, one per seed. */
export interface FamilyRuns {
  readonly family: StandardTrace;
  readonly results: readonly SimResult[];
}

/** What the benchmark prints as it goes. */
export type Log = (line: string) => void;

/**
 * Replays each family over seeds 1 to `seeds` under `packed` with `fleet` over each family's knobs.
 * @param label what the progress lines say this pass is
 * @param families the families to replay (all of them unless given)
 */
export async function runFamilies(
  seeds: number,
  fleet: Readonly<Record<string, number>>,
  log: Log,
  label = "",
  families: readonly StandardTrace[] = TRACE_FAMILIES,
): Promise<FamilyRuns[]> {
  const out: FamilyRuns[] = [];
  for (const family of families) {
    const started = Date.now();
    const results: SimResult[] = [];
    for (let seed = 1; seed <= seeds; seed++) {
      const trace = parseTrace(formatTrace(family.generate(seed)), `${family.name}#${seed}`);
      const { result } = await simulate(trace, buildOptions("packed", seed, { ...family.fleet, ...fleet }));
      results.push(result);
    }
    out.push({ family, results });
    const s = summarize(results);
    log(
      `${family.name}${label} × ${seeds} seeds: / (never-cut + spare) median ${s.ratioToNeverCut.median}, worst ${s.ratioToNeverCut.worst}; cut ${s.interruptedStreams.worst}, overload ${s.overloadNodeSeconds.worst} s, wait p95 worst ${s.waitP95Seconds.worst} s (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
  }
  return out;
}

/** The median and the worst (highest) of a figure over a family's seeds. */
export interface Spread {
  readonly median: number;
  readonly worst: number;
}

/** The figures a family's seeds are summarized by. */
export const SUMMARIZED = [
  "instanceHours",
  "ratioWithSpare",
  "ratioToNeverCut",
  "ratioToFillOrder",
  "interruptedStreams",
  "overloadNodeSeconds",
  "waitP95Seconds",
  "waitMaxSeconds",
] as const;

/**
 * A family's seeds summarized: the median and worst of each figure, how far the reference lies above
 * the bound, and how far the fill order's own cost lies above the reference.
 */
export type FamilySummary = Record<(typeof SUMMARIZED)[number] | "neverCutOverBound" | "fillOrderOverNeverCut", Spread>;

function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: percentile(sorted, 0.5), worst: sorted[sorted.length - 1] ?? 0 };
}

/** Summarizes one family's results. */
export function summarize(results: readonly SimResult[]): FamilySummary {
  const entries = SUMMARIZED.map((key) => [key, spread(results.map((r) => r[key]))] as const);
  const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
  return {
    ...Object.fromEntries(entries),
    neverCutOverBound: spread(results.map((r) => ratio(r.neverCutInstanceHours, r.lowerBoundInstanceHours))),
    fillOrderOverNeverCut: spread(results.map((r) => ratio(r.fillOrderInstanceHours, r.neverCutInstanceHours))),
  } as FamilySummary;
}

/** Whether a family's worst seed met each target, in words. */
export function familyTargetChecks(s: FamilySummary): { name: string; met: boolean; detail: string }[] {
  return [
    {
      name: "cost",
      met: s.ratioToNeverCut.worst <= FAMILY_COST_TARGET,
      detail: `worst / (never-cut + spare) ${s.ratioToNeverCut.worst} vs ${FAMILY_COST_TARGET}`,
    },
    {
      name: "interruptions",
      met: s.interruptedStreams.worst === 0,
      detail: `worst ${s.interruptedStreams.worst} streams cut`,
    },
    {
      name: "overload",
      met: s.overloadNodeSeconds.worst === 0,
      detail: `worst ${s.overloadNodeSeconds.worst} node-seconds`,
    },
  ];
}
