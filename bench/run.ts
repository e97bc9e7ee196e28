/**
 * `npm run bench`: the benchmarks that `npm run bench` reproduces from a clean clone. Today: the
 * fleet simulator (every standard trace under every policy, every trace family over many seeds,
 * and every standard trace with its cameras resolving first or publishing to the fixed address).
 * Run from the repository root.
 */
import { type CommandSpec, readCommandLine, wholeNumber } from "../scripts/command-line";
import { runIngestBench } from "./ingest";
import { MissingMarkersError } from "./markdown";
import { runSimBench } from "./sim-bench";
import { FAMILY_SEEDS } from "./sim-families";

const COMMAND: CommandSpec = {
  name: "bench",
  synopsis: "npm run bench [-- --seeds N]",
  summary:
    "The fleet simulator's benchmark: every standard trace under every policy, every trace family over many seeds under packed, and every standard trace with its cameras resolving first or publishing to the fixed ingest address. Writes bench/results.json, the charts in docs/charts/, its sections of docs/BENCHMARKS.md and the charts' links in README.md. Run from the repository root.",
  options: {
    seeds: {
      description:
        "seeds each trace family is replayed with (fewer for a quick look; the documented figures use the default)",
      value: "N",
      default: String(FAMILY_SEEDS),
    },
  },
};

async function main(): Promise<number> {
  const read = readCommandLine(COMMAND, process.argv.slice(2), (line) => wholeNumber(line, "seeds", 1, 1000));
  if ("exitCode" in read) return read.exitCode;
  const started = Date.now();
  try {
    const log = (line: string) => console.log(line);
    await runSimBench(process.cwd(), log, read.options);
    await runIngestBench(process.cwd(), log);
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
