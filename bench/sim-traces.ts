/**
 * Writes the standard traces to `bench/traces/` from their generators (deterministic: the same
 * seed gives the same bytes). `npm run bench` calls it first; `npx tsx bench/sim-traces.ts` alone
 * regenerates the files.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { STANDARD_TRACES, type StandardTrace } from "../sim/generators";
import { formatTrace } from "../sim/trace";

/** The seed the committed traces are generated from. */
export const TRACE_SEED = 1;

/** Where the standard traces live, from the repository root. */
export const TRACES_DIR = path.join("bench", "traces");

/** The file of a standard trace, from the repository root. */
export function tracePath(trace: StandardTrace): string {
  return path.join(TRACES_DIR, `${trace.name}.csv`);
}

/** Writes every standard trace under `root`; returns the files written. */
export function writeStandardTraces(root: string, seed = TRACE_SEED): string[] {
  mkdirSync(path.join(root, TRACES_DIR), { recursive: true });
  return STANDARD_TRACES.map((trace) => {
    const file = tracePath(trace);
    writeFileSync(path.join(root, file), formatTrace(trace.generate(seed)));
    return file;
  });
}

if (require.main === module) {
  for (const file of writeStandardTraces(process.cwd())) console.log(`wrote ${file}`);
}
