/**
 * The fleet simulator's benchmark: every standard trace under every policy. Writes
 * `bench/results.json`, the charts in `docs/charts/`, the table in `docs/BENCHMARKS.md` (only
 * between its `bench:sim` markers) and the charts' links in `README.md` (only between its
 * `bench:charts` markers, which must exist: this script never creates or rewrites the README).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { renderChart } from "../sim/chart";
import type { SimResult } from "../sim/engine";
import { STANDARD_TRACES, type StandardTrace, TRACE_FAMILIES } from "../sim/generators";
import { REFERENCE_RESTARTS } from "../sim/never-cut";
import { buildOptions, NUMERIC_FLAGS, POLICIES, type PolicyName, SIM_FLEET_DEFAULTS } from "../sim/options";
import { COLUMNS, formatMarkdownTable, formatTable, withoutSeries } from "../sim/report";
import { simulate } from "../sim/simulate";
import { parseTrace } from "../sim/trace";
import { formatMarkdown, MissingMarkersError, replaceRegion } from "./markdown";
import {
  FAMILY_COST_TARGET,
  type FamilyRuns,
  familyTargetChecks,
  type Log,
  runFamilies,
  type Spread,
  summarize,
} from "./sim-families";
import { TRACE_SEED, tracePath, writeStandardTraces } from "./sim-traces";

/** The seed of every benchmark run (CPU noise, the baselines' random choices). */
export const BENCH_SEED = 1;
/** The most instance-hours `packed` may use, as a multiple of the never-cut reference plus its spare. */
export const COST_TARGET = FAMILY_COST_TARGET;

const BENCHMARKS_FILE = path.join("docs", "BENCHMARKS.md");
const README_FILE = "README.md";
const RESULTS_FILE = path.join("bench", "results.json");
const CHARTS_DIR = path.join("docs", "charts");
const SIM_MARKERS = ["<!-- bench:sim:begin -->", "<!-- bench:sim:end -->"] as const;
const CHART_MARKERS = ["<!-- bench:charts:begin -->", "<!-- bench:charts:end -->"] as const;

/**
 * The benchmark's runs of each trace: ours with the trace's fixed spare, ours with the spare sized
 * from arrivals instead (no fixed spare; the lead is the boot time plus the scaler period, rounded
 * up), and the baselines.
 */
export const BENCH_RUNS: readonly { label: string; policy: PolicyName; fleet: Readonly<Record<string, number>> }[] = [
  { label: "packed", policy: "packed", fleet: {} },
  { label: "packed (arrival spare)", policy: "packed", fleet: { bufferNodes: 0, spareLeadSeconds: 180 } },
  ...POLICIES.filter((p) => p !== "packed").map((policy) => ({ label: policy, policy, fleet: {} })),
];
const ARRIVAL_RUN = BENCH_RUNS[1] as (typeof BENCH_RUNS)[number];

/** The family a warm pool is shown on: a crowd that needs several nodes at once. */
const WARM_POOL_FAMILY = TRACE_FAMILIES.find((f) => f.name === "flash-crowd") as StandardTrace;

/**
 * The warm pool's runs of that family, beside the defaults (no pool): a pool as large as the crowd's
 * nodes with the default spare, and the same pool instead of the spare.
 */
export const WARM_POOL_RUNS: readonly Readonly<Record<string, number>>[] = [
  { warmPoolSize: 5 },
  { warmPoolSize: 5, bufferNodes: 0 },
];

/** One benchmark row. */
export interface BenchRow {
  readonly trace: StandardTrace;
  readonly policy: PolicyName;
  readonly label: string;
  readonly result: SimResult;
}

/** Whether `packed` met each target on a trace, in words. */
export function targetChecks(row: BenchRow): { name: string; met: boolean; detail: string }[] {
  const r = row.result;
  const checks = [
    {
      name: "cost",
      met: r.ratioToNeverCut <= COST_TARGET,
      detail: `instance-hours ${r.instanceHours} vs (never-cut ${r.neverCutInstanceHours} + spare ${r.spareInstanceHours}) × ${COST_TARGET}: ratio ${r.ratioToNeverCut}`,
    },
    { name: "interruptions", met: r.interruptedStreams === 0, detail: `${r.interruptedStreams} streams cut` },
    {
      name: "overload",
      met: r.overloadNodeSeconds === 0,
      detail: `${r.overloadNodeSeconds} node-seconds above overload`,
    },
  ];
  if (row.trace.name === "burst-200") {
    checks.push({ name: "burst wait", met: r.waitMaxSeconds === 0, detail: `longest wait ${r.waitMaxSeconds} s` });
  }
  return checks;
}

const cell = ({ median, worst }: Spread) => `${median} / ${worst}`;

/** The warm pool's table: the family at the defaults and with each pool, median / worst seed. */
function warmPoolSection(families: readonly FamilyRuns[], pooled: readonly FamilyRuns[]): string[] {
  const defaults = families.find((f) => f.family === WARM_POOL_FAMILY) as FamilyRuns;
  const { coldBootSeconds, warmBootSeconds } = buildOptions("packed", BENCH_SEED).model;
  const row = (knobs: Readonly<Record<string, number>>, { results }: FamilyRuns) => {
    const s = summarize(results);
    const named = Object.entries({ warmPoolSize: 0, bufferNodes: 1, ...knobs })
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    return `| ${named} | ${cell(s.instanceHours)} | ${cell(s.ratioToNeverCut)} | ${cell(s.waitP95Seconds)} | ${cell(s.waitMaxSeconds)} | ${s.interruptedStreams.worst} | ${s.overloadNodeSeconds.worst} |`;
  };
  return [
    "### A warm pool",
    "",
    `\`${WARM_POOL_FAMILY.name}\` over seeds 1 to ${defaults.results.length}, without and with a warm pool (\`warmPoolSize\`): a node launched from`,
    `the pool is ready ${warmBootSeconds} s after its start instead of ${coldBootSeconds} s (see "Model"); each one used is replaced`,
    "by a new instance whose first boot is paid for. Each cell is the median / the worst seed; / (never-cut + spare)",
    "allows for the spare the run keeps (none with `bufferNodes` 0).",
    "",
    "| knobs | instance-hours | / (never-cut + spare) | wait p95 (s) | wait max (s) | streams cut (worst) | overload node-s (worst) |",
    "|---|---|---|---|---|---:|---:|",
    row({}, defaults),
    ...WARM_POOL_RUNS.map((knobs, i) => row(knobs, pooled[i] as FamilyRuns)),
    "",
  ];
}

/** The families' table: the median and worst seed of each figure, and the targets on the worst. */
function familiesSection(families: readonly FamilyRuns[]): string[] {
  const seeds = families[0]?.results.length ?? 0;
  return [
    "### Trace families",
    "",
    `Each family is replayed under \`packed\` (the defaults above) over seeds 1 to ${seeds}: the seed draws the trace (its size,`,
    "timing and sessions) and the CPU noise. Each cell is the median / the worst seed.",
    "",
    "| family | trace | instance-hours | / (lower bound + spare) | / (never-cut + spare) | never-cut / lower bound | fill order / never-cut | / (fill order + spare) | streams cut | overload node-s | wait p95 (s) | wait max (s) |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...families.map(({ family, results }) => {
      const s = summarize(results);
      return `| \`${family.name}\` | ${family.description} | ${cell(s.instanceHours)} | ${cell(s.ratioWithSpare)} | ${cell(s.ratioToNeverCut)} | ${cell(s.neverCutOverBound)} | ${cell(s.fillOrderOverNeverCut)} | ${cell(s.ratioToFillOrder)} | ${cell(s.interruptedStreams)} | ${cell(s.overloadNodeSeconds)} | ${cell(s.waitP95Seconds)} | ${cell(s.waitMaxSeconds)} |`;
    }),
    "",
    `Targets on each family's worst seed: at most ${FAMILY_COST_TARGET}× (never-cut reference + spare kept), no stream cut, no overload:`,
    "",
    ...families.map(({ family, results }) => {
      const checks = familyTargetChecks(summarize(results))
        .map((c) => `${c.name} ${c.met ? "met" : "**not met**"} (${c.detail})`)
        .join("; ");
      return `- \`${family.name}\`: ${checks}.`;
    }),
    "",
  ];
}

function markdownSection(
  rows: readonly BenchRow[],
  families: readonly FamilyRuns[],
  pooled: readonly FamilyRuns[],
): string {
  const fleetKnobs = (trace: StandardTrace) => {
    const knobs = Object.entries({ ...SIM_FLEET_DEFAULTS, ...trace.fleet }).map(([k, v]) => `${k} ${v}`);
    return knobs.join(", ") + (trace.fleetNote ? `: ${trace.fleetNote}` : "");
  };
  const firstOf = (trace: StandardTrace) => rows.find((r) => r.trace === trace)?.result as SimResult;
  const lines: string[] = [
    "Regenerate with `npm run bench` (it prints its progress and run time). It writes the standard traces",
    `\`bench/traces/*.csv\` from their generators (seed ${TRACE_SEED}), replays each under each policy (seed ${BENCH_SEED}),`,
    "and writes `bench/results.json`, this section and the charts in `docs/charts/` (shown in the README).",
    "One run: `npm run sim -- --trace bench/traces/day.csv --policy packed [--json] [--chart day.svg]`;",
    "`npm run sim -- --help` lists every model flag.",
    "",
    "### Results",
    "",
    formatMarkdownTable(rows),
    "",
    "### Targets for `packed`",
    "",
    `Within ${COST_TARGET}× of the never-cut reference plus the spare it is told to keep, no stream cut, no overload,`,
    "and no wait on the burst while it fits in the buffer:",
    "",
    ...rows
      .filter((row) => row.label === "packed")
      .map((row) => {
        const checks = targetChecks(row)
          .map((c) => `${c.name} ${c.met ? "met" : "**not met**"} (${c.detail})`)
          .join("; ");
        return `- \`${row.trace.name}\`: ${checks}.`;
      }),
    "",
    ...familiesSection(families),
    ...warmPoolSection(families, pooled),
    "### A spare sized from arrivals",
    "",
    `\`${ARRIVAL_RUN.label}\` runs \`packed\` with ${Object.entries(ARRIVAL_RUN.fleet)
      .map(([k, v]) => `\`${k}\` ${v}`)
      .join(" and ")}: no fixed spare; instead, as many cameras`,
    `as took a slot over the last ${ARRIVAL_RUN.fleet.spareLeadSeconds} s (a boot plus a scaler period) are expected over the next as many, and`,
    "empty nodes are kept for those the nodes in use have no room for. Against the bare lower bound:",
    "",
    "| trace | fixed spare: instance-hours, ratio, wait p95 / max | arrival spare: instance-hours, ratio, wait p95 / max |",
    "|---|---|---|",
    ...STANDARD_TRACES.map((trace) => {
      const cell = (label: string) => {
        const r = rows.find((row) => row.trace === trace && row.label === label)?.result as SimResult;
        return `${r.instanceHours}, ${r.ratio}, ${r.waitP95Seconds} / ${r.waitMaxSeconds} s`;
      };
      return `| \`${trace.name}\` | ${cell("packed")} | ${cell(ARRIVAL_RUN.label)} |`;
    }),
    "",
    "It costs less where cameras come and go gradually (`day`: the fleet shrinks to one node at night and",
    "keeps no empty node while the nodes in use have room) with no wait there. It makes cameras wait",
    "where many arrive at once after a quiet time (`steady-100`, `burst-200`): nothing foresaw them and",
    "they wait for a boot. Where sessions are short (`churn`) it counts every arrival while departures free",
    "as many slots, so it keeps spares it does not need. It is therefore an option (`spareLeadSeconds`,",
    "default 0), not the default; `bufferNodes` stays its floor.",
    "",
    "### The two yardsticks",
    "",
    "Both size a node as `packed` does on a node whose idle CPU and cost a stream it knows exactly:",
    `${firstOf(STANDARD_TRACES[0] as StandardTrace).streamsPerNode} streams at the model's defaults (the last one taken while at most half its cost lies past the threshold;`,
    "`streamCap` in `lambdas/core/cpu-profile.ts`, `test/sim/never-cut.test.ts`). Both count a session live at",
    "the whole seconds it covers and ignore boots.",
    "",
    "- **Lower bound**: at each second, the fewest nodes that carry the live cameras, as if streams could",
    "  move between nodes at will. No policy can do better; one that never cuts a stream cannot reach it.",
    `- **Never-cut reference**: the sessions packed, knowing when each ends, onto nodes they never leave; a`,
    "  node is paid for while it carries a stream (`sim/never-cut.ts`). Sessions are taken in arrival order;",
    "  each goes to a node carrying streams with room for it (its load only falls after that), the one whose",
    "  streams outlast it when there is one (it then costs nothing more), else the one whose last stream",
    "  ends latest; a new node only when none has room. Among nodes that outlast it, three rules (the one",
    `  that ends soonest after it, the fullest, the oldest) and ${REFERENCE_RESTARTS} restarts picking at random; the cheapest counts.`,
    "  The exact optimum is NP-hard: the reference is achievable, and an exact packing may be cheaper,",
    "  never dearer. `test/sim/never-cut.test.ts` holds it to hand-counted cases, and to the bound or",
    "  above on a generated trace.",
    "",
    "A third figure is a diagnostic, not a target: the **fill order's own cost** (`fillOrderInstanceHours` in",
    "`sim/never-cut.ts`): each session, in arrival order and not knowing when any ends, to the oldest node",
    "with room, a new node only when none has room, a node paid while it carries a stream. It is `packed`'s",
    "placement with its capacity known exactly, instant boots, no spare and no idle wait before scale-in.",
    "The reference may put a session beside streams that end when it ends; a policy that must place a",
    "camera when it connects cannot know when it will leave, and with the fill order kept (the oldest",
    "ACTIVE node that is not full) and no stream moved, none of its rules changes which node a camera",
    "joins. So `fill order / never-cut` is the share of the gap that rules can never close, and",
    "`/ (fill order + spare)` what the rules (boots, the spare, idle time, the learned capacity) lose",
    "beyond it. First fit is not monotone, so this is a close estimate of `packed`'s floor, not a proof",
    '(`test/sim/never-cut.test.ts`, "the fill order\'s own cost"). The yardsticks are unchanged: the',
    "targets stay on the never-cut reference.",
    "",
    "### Reading the results",
    "",
    "- The lower bound may move streams at will. `packed` never cuts one, so a node leaves only once its",
    "  last stream ends: where cameras leave at random (the evening of `day`), most nodes keep a few",
    "  streams for hours and the fleet shrinks far slower than the bound (see its chart). The never-cut",
    "  reference prices that: the best a packer that knows every session's end, and never moves a",
    "  stream, does on the same trace. `minNodes` 1 also keeps a node through the night.",
    "- `packed` sizes each node from its own CPU profile (docs/NODE.md, \"How a node's capacity is",
    '  learned"): its idle CPU and its cost a stream above idle, fitted over its heartbeats and counted on',
    "  the dear side until they agree. Its cap is 47 streams here once the evidence settles (46.875 to",
    "  80%), as the bound and the reference assume; `peakStreamsPerNode` in `bench/results.json` is the",
    "  most any node carried. No node runs 10 points over the threshold on any trace or seed above:",
    "  testing each camera against the latest noisy reading instead let nodes creep to 49-51 streams.",
    "- The spare counts the free slots of the nodes in use toward `bufferNodes`' worth of room (a new",
    "  node's slots at the fleet's learned profile: 47 once a node's readings settle, 40 before), so the",
    "  ratio to (reference + spare) can fall below 1:",
    "  the allowance is a whole node, which `packed` keeps empty only when the nodes in use lack room.",
    "- `packed` reads CPU from its agents' heartbeats only, as the product does. The scaler used to take",
    "  CloudWatch's 1-minute average too when it was newer than the last heartbeat; dropping that moved",
    "  no figure here, since an average readable a minute after its minute is never newer than a",
    "  heartbeat sent every 15 s (it was taken 0 times over the four traces).",
    "- The baselines never move a stream once connected: the nodes that took the first cameras stay",
    "  overloaded while target tracking, seeing only the average CPU, adds nodes that stay nearly",
    "  empty. A ratio below 1 means fewer instances than the load needs, paid for in overload.",
    "",
    "### Columns",
    "",
    ...COLUMNS.map((c) => `- \`${c.heading}\`: ${c.meaning}.`),
    "",
    "### Traces",
    "",
    "| trace | cameras | sessions | hours | fleet knobs |",
    "|---|---|---:|---:|---|",
    ...STANDARD_TRACES.map(
      (t) =>
        `| \`${t.name}\` | ${t.description} | ${firstOf(t).sessions} | ${firstOf(t).lengthHours} | ${fleetKnobs(t)} |`,
    ),
    "",
    "### Policies",
    "",
    "- `packed` (ours) runs the product's code through the in-process fleet harness (`sim/fleet-harness.ts`):",
    "  cameras call `placeCamera` then `admitPublish` (and `endStream`), node agents call `recordHeartbeat`,",
    "  `runScalerTick` runs every scaler period and at once when a resolve finds no room (debounced as the",
    "  resolve Lambda does), over a `MemoryRegistry` and a `ProcessGroup` whose lifecycle hooks call",
    "  `onLifecycle`. A camera refused with 503 retries after `RETRY_AFTER_NO_ROOM_SECONDS`.",
    "- `round-robin`: a load balancer sends each new stream to the next instance in service; target tracking",
    "  on the group's average CPU at 50%; the default termination policy; scale-in cuts what the instance",
    "  still carries after the deregistration delay.",
    "- `least-loaded`: the same with least connections and a 60% target.",
    "- Target tracking as AWS runs it: a high alarm after 3 one-minute datapoints above the target, a low",
    "  alarm after 15 below 90% of it, desired = ceil(instances in the metric × metric / target), scale-in",
    "  only with no instance warming up and after the cooldown; the metric is the late CloudWatch average.",
    "  The baselines' group starts at its minimum; its streams never move once connected.",
    "",
    "### Model",
    "",
    "| flag | default | meaning |",
    "|---|---:|---|",
    ...NUMERIC_FLAGS.map((f) => `| \`${f.flag}\` | ${f.defaultValue} | ${f.description} |`),
    "",
    "A node's CPU is sampled every second: base + per-stream cost × streams + noise, in percent of its one",
    "nginx worker's core, the agent's scale and the one the threshold is defined on ([docs/NODE.md](NODE.md)). The",
    "agent's heartbeat carries the average since its previous one (as `/proc/stat` deltas give it) with the",
    "streams it lists now: `packed` reads CPU from these heartbeats only, as the product does. The baselines'",
    "target tracking reads CloudWatch's 1-minute averages of the same figure, readable `--metric-delay-seconds`",
    "after their minute (as if CloudWatch saw the worker's core: a one-vCPU instance).",
    "Every run starts `--warmup-seconds` before the trace, so each fleet starts at its resting size.",
    "",
    "Boots. A new instance is ready `--cold-boot-seconds` after its launch: EC2's own start before the user",
    "data runs (firmware, kernel, cloud-init: a few tens of seconds; about 60 s assumed), then `bootstrap.sh`'s",
    "apt install of nginx, libnginx-mod-rtmp and nftables and the units' start (7 s from power-on to ready in",
    '`npm run bench:boot`, section "Media node: boot to ready", against Debian\'s mirror from this machine; an',
    "instance's first `apt-get update` and download from Ubuntu's mirror is assumed at about 60 s). A node of the",
    "warm pool booted once already and was stopped with nginx installed, so its start skips the install and",
    "cloud-init's first-boot work: `--warm-boot-seconds` covers EC2 starting a stopped instance and systemd",
    "starting nginx and the agent (about 1 s in `npm run bench:boot`). Both are assumptions, not measurements of",
    "EC2: the flags change them. A pool's stopped nodes pay for their EBS volume only (an 8 GiB gp3 root volume:",
    "about $0.64 a month in us-east-1), which instance-hours leave out; the replacement of a node taken from the",
    "pool runs its first boot (`--cold-boot-seconds`) as a billed instance, then stops (`sim/warm-pool.ts`,",
    "`test/sim/warm-pool.test.ts`).",
  ];
  return lines.join("\n");
}

function readmeSection(rows: readonly BenchRow[]): string {
  const lines = [
    "What the fleet simulator measures (`npm run bench`; table and model in [docs/BENCHMARKS.md](docs/BENCHMARKS.md)):",
    "instances over time against the offline lower bound, and each node's CPU, per policy.",
    "",
  ];
  for (const trace of STANDARD_TRACES) {
    const summary = rows
      .filter((r) => r.trace === trace)
      .map(
        ({ label, result: r }) =>
          `${label} ${r.instanceHours} instance-hours, ${r.interruptedStreams} streams cut, ${r.overloadNodeSeconds} node-s overloaded`,
      )
      .join("; ");
    const bound = rows.find((r) => r.trace === trace)?.result.lowerBoundInstanceHours;
    lines.push(
      `**${trace.name}**: ${trace.description}. Lower bound ${bound} instance-hours; ${summary}.`,
      "",
      `![${trace.name}: ${BENCH_RUNS.map((run) => run.label).join(", ")} side by side](${CHARTS_DIR}/sim-${trace.name}.svg)`,
      "",
    );
  }
  return lines.join("\n");
}

/**
 * Runs the benchmark from the repository root `root` and writes its outputs.
 * @throws MissingMarkersError when README.md lacks its region (after writing everything else)
 */
export async function runSimBench(root: string, log: Log, familySeeds: number): Promise<BenchRow[]> {
  const readmePath = path.join(root, README_FILE);
  const readme = existsSync(readmePath) ? readFileSync(readmePath, "utf8") : undefined;
  if (readme === undefined || !readme.includes(CHART_MARKERS[0]) || !readme.includes(CHART_MARKERS[1])) {
    log(`warning: ${README_FILE} lacks the ${CHART_MARKERS.join(" ... ")} region; the charts will not be linked`);
  }
  const benchmarksPath = path.join(root, BENCHMARKS_FILE);
  // Checked before the long run: the table has nowhere to go without its markers.
  const benchmarks = readFileSync(benchmarksPath, "utf8");
  replaceRegion(benchmarks, BENCHMARKS_FILE, SIM_MARKERS, "");

  writeStandardTraces(root);
  log(
    `wrote ${STANDARD_TRACES.length} standard traces to ${path.dirname(tracePath(STANDARD_TRACES[0] as StandardTrace))}/`,
  );
  const rows: BenchRow[] = [];
  const total = STANDARD_TRACES.length * BENCH_RUNS.length;
  for (const trace of STANDARD_TRACES) {
    const file = tracePath(trace);
    const parsed = parseTrace(readFileSync(path.join(root, file), "utf8"), trace.name);
    for (const { label, policy, fleet } of BENCH_RUNS) {
      const started = Date.now();
      const prefix = `[${rows.length + 1}/${total}] ${trace.name} × ${label}`;
      const options = buildOptions(policy, BENCH_SEED, { ...trace.fleet, ...fleet });
      const { result } = await simulate(parsed, options);
      rows.push({ trace, policy, label, result });
      log(
        `${prefix}: ${result.instanceHours} instance-hours (bound ${result.lowerBoundInstanceHours}), cut ${result.interruptedStreams}, overload ${result.overloadNodeSeconds} s, wait p95 ${result.waitP95Seconds} s (${((Date.now() - started) / 1000).toFixed(1)} s)`,
      );
    }
  }

  const families = await runFamilies(familySeeds, {}, log);
  const pooled: FamilyRuns[] = [];
  for (const knobs of WARM_POOL_RUNS) {
    const label = ` (${Object.entries(knobs)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")})`;
    pooled.push(...(await runFamilies(familySeeds, knobs, log, label, [WARM_POOL_FAMILY])));
  }

  mkdirSync(path.join(root, CHARTS_DIR), { recursive: true });
  const threshold = buildOptions("packed", BENCH_SEED).fleet.cpuThresholdPercent;
  for (const trace of STANDARD_TRACES) {
    const runs = rows.filter((r) => r.trace === trace).map((r) => ({ label: r.label, result: r.result }));
    const chart = path.join(CHARTS_DIR, `sim-${trace.name}.svg`);
    writeFileSync(path.join(root, chart), renderChart(`${trace.name}: ${trace.description}`, runs, threshold));
    log(`wrote ${chart}`);
  }
  const json = {
    generatedBy: "npm run bench",
    traceSeed: TRACE_SEED,
    seed: BENCH_SEED,
    traces: STANDARD_TRACES.map((t) => ({
      name: t.name,
      file: tracePath(t),
      description: t.description,
      fleet: t.fleet,
    })),
    results: rows.map((r) => ({ ...withoutSeries(r.result), label: r.label })),
    families: families.map(({ family, results }) => ({
      name: family.name,
      description: family.description,
      seeds: results.length,
      summary: summarize(results),
    })),
    warmPool: WARM_POOL_RUNS.map((knobs, i) => ({
      family: WARM_POOL_FAMILY.name,
      fleet: knobs,
      summary: summarize((pooled[i] as FamilyRuns).results),
    })),
  };
  writeFileSync(path.join(root, RESULTS_FILE), `${JSON.stringify(json, null, 2)}\n`);
  log(`wrote ${RESULTS_FILE}`);
  writeFileSync(
    benchmarksPath,
    replaceRegion(benchmarks, BENCHMARKS_FILE, SIM_MARKERS, markdownSection(rows, families, pooled)),
  );
  formatMarkdown(benchmarksPath);
  log(`wrote ${BENCHMARKS_FILE} (its bench:sim region)`);
  log("");
  log(formatTable(rows));
  if (readme === undefined) throw new MissingMarkersError(README_FILE, CHART_MARKERS);
  writeFileSync(readmePath, replaceRegion(readme, README_FILE, CHART_MARKERS, readmeSection(rows)));
  formatMarkdown(readmePath);
  log(`wrote ${README_FILE} (its bench:charts region)`);
  return rows;
}
