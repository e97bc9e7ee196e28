/**
 * `npm run bench`: the benchmarks that `npm run bench` reproduces from a clean clone. Today: the
 * fleet simulator (every standard trace under every policy). Run from the repository root.
 */
import { type CommandSpec, readCommandLine } from "../scripts/command-line";
import { MissingMarkersError } from "./markdown";
import { runSimBench } from "./sim-bench";

const COMMAND: CommandSpec = {
  name: "bench",
  synopsis: "npm run bench",
  summary:
    "The fleet simulator's benchmark: every standard trace under every policy. Writes bench/results.json, the charts in docs/charts/, its section of docs/BENCHMARKS.md and the charts' links in README.md. Run from the repository root.",
  options: {},
};

async function main(): Promise<number> {
  const read = readCommandLine(COMMAND, process.argv.slice(2), () => undefined);
  if ("exitCode" in read) return read.exitCode;
  const started = Date.now();
  try {
    await runSimBench(process.cwd(), (line) => console.log(line));
  } catch (error) {
    if (error instanceof MissingMarkersError) {
      console.error(`bench: ${error.message}`);
      return 1;
    }
    throw error;
  }
  console.log(`bench: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`bench: unexpected failure: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 70;
  },
);
