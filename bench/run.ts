/**
 * `npm run bench`: the benchmarks that `npm run bench` reproduces from a clean clone. Today: the
 * fleet simulator (every standard trace under every policy). Run from the repository root.
 */
import { MissingMarkersError, runSimBench } from "./sim-bench";

async function main(): Promise<number> {
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
