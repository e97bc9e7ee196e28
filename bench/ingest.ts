/**
 * `npm run bench:ingest` (and part of `npm run bench`): what the fixed ingest address costs the
 * cameras against resolve-first. Every standard trace under `packed`, once with its cameras
 * resolving first and once publishing to the fixed address (`sim/fixed-ingest.ts`); writes its
 * section of docs/BENCHMARKS.md. Run from the repository root.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { RETRY_AFTER_NO_ROOM_SECONDS } from "../lambdas/core/cameras";
import type { SimResult } from "../sim/engine";
import { STANDARD_TRACES, type StandardTrace } from "../sim/generators";
import { buildOptions, DEFAULT_MODEL, INGEST_MODES, type IngestMode } from "../sim/options";
import type { PackedFleet } from "../sim/packed-fleet";
import { simulate } from "../sim/simulate";
import { parseTrace } from "../sim/trace";
import { writeSection } from "./markdown";
import { BENCH_SEED } from "./sim-bench";
import type { Log } from "./sim-families";
import { TRACE_SEED, tracePath, writeStandardTraces } from "./sim-traces";

/** One run: a trace, how its cameras find their node, what it measured. */
export interface IngestRow {
  readonly trace: StandardTrace;
  readonly ingest: IngestMode;
  readonly result: SimResult;
  /** How often the control plane pointed the fixed address elsewhere (0 when cameras resolve). */
  readonly switches: number;
}

function section(rows: readonly IngestRow[]): string {
  const { ingestSwitchSeconds, cameraRetrySeconds } = DEFAULT_MODEL;
  return [
    "Command: `npm run bench:ingest` (`npm run bench` runs it too). Each standard trace (`bench/traces/`,",
    `seed ${TRACE_SEED}) under \`packed\` with its fleet knobs (seed ${BENCH_SEED}), its cameras resolving first`,
    "(`--ingest resolve`) or publishing to the fixed address (`--ingest fixed`, `sim/fixed-ingest.ts`).",
    "",
    "Assumed, as the model's defaults (`npm run sim -- --help`):",
    "",
    `- **Switch delay ${ingestSwitchSeconds} s** (\`--ingest-switch-seconds\`): the load balancer sends new cameras to`,
    "  the node the control plane chose this long after the choice: a Network Load Balancer target takes",
    "  connections once it is healthy, 3 health checks in a row 10 s apart. Until then new connections",
    "  still reach the old target, which refuses them while it is full.",
    `- **Camera retry ${cameraRetrySeconds} s** (\`--camera-retry-seconds\`): a refused camera connects again this`,
    "  long after (camera and encoder firmware reconnects after 5-10 s; the slow end).",
    `- A resolving camera refused for lack of room retries after ${RETRY_AFTER_NO_ROOM_SECONDS} s (\`Retry-After\`), and`,
    "  its refusal notes it as waiting and asks the scaler for a node at once; so does an unresolved",
    "  publish refused because no node has room (D20), behind the fixed address.",
    "",
    "| trace | cameras | instance-hours | cameras that waited | wait p95 (s) | wait max (s) | refused publishes | target switches |",
    "|---|---|---:|---:|---:|---:|---:|---:|",
    ...rows.map(
      ({ trace, ingest, result: r, switches }) =>
        `| \`${trace.name}\` | ${ingest === "fixed" ? "fixed address" : "resolve first"} | ${r.instanceHours} | ${r.waitedSessions} of ${r.sessions} | ${r.waitP95Seconds} | ${r.waitMaxSeconds} | ${r.publishDenied} | ${switches} |`,
    ),
    "",
    "A camera waits behind the fixed address when it arrives while the target is full and the switch",
    "to the next node has not taken effect: one switch delay, rounded up to its retries. The target",
    "moves when a node fills and when an older node that was full reopens; a node reopens only with",
    "`reopenSlots` free (8), so one stream ending on it, or one CPU reading a stream's worth low, does",
    "not bring the address back for a single camera. Reopening on one slot, the address flapped: `day`",
    "behind it waited 2,255 s at p95. Where sessions last a minute or two (`churn`), nodes reopen and",
    "fill again within minutes and most cameras meet a switch: a fixed address suits cameras that stay",
    "connected, and resolve-first remains the way for short sessions. Where every node is full (a burst",
    "larger than the spare), a camera also waits for the scaler run its refusal wakes to launch a node, its boot,",
    "and the switch to it. No stream is moved or cut in either mode.",
  ].join("\n");
}

/**
 * Runs every standard trace both ways from the repository root `root` and writes the section.
 * @throws MissingMarkersError when docs/BENCHMARKS.md lacks the `bench:ingest` markers
 */
export async function runIngestBench(root: string, log: Log): Promise<IngestRow[]> {
  writeStandardTraces(root);
  const rows: IngestRow[] = [];
  for (const trace of STANDARD_TRACES) {
    const parsed = parseTrace(readFileSync(path.join(root, tracePath(trace)), "utf8"), trace.name);
    for (const ingest of INGEST_MODES) {
      const started = Date.now();
      const { result, driver } = await simulate(parsed, buildOptions("packed", BENCH_SEED, trace.fleet, ingest));
      const switches = (driver as PackedFleet).ingest?.switches ?? 0;
      rows.push({ trace, ingest, result, switches });
      log(
        `ingest: ${trace.name} × ${ingest}: ${result.waitedSessions} of ${result.sessions} waited, wait p95 ${result.waitP95Seconds} s, max ${result.waitMaxSeconds} s (${((Date.now() - started) / 1000).toFixed(1)} s)`,
      );
    }
  }
  writeSection("ingest", section(rows), path.join(root, "docs", "BENCHMARKS.md"));
  log("wrote docs/BENCHMARKS.md (its bench:ingest region)");
  return rows;
}

if (require.main === module) {
  const started = Date.now();
  runIngestBench(process.cwd(), (line) => console.log(line)).then(
    () => console.log(`bench:ingest: done in ${((Date.now() - started) / 1000).toFixed(1)} s`),
    (error: unknown) => {
      console.error(`bench:ingest: ${(error as Error).message}`);
      process.exitCode = 1;
    },
  );
}
