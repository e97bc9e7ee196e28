/**
 * `npm run sim -- --trace FILE [--policy packed|round-robin|least-loaded] [--seed N] [--json]
 * [--chart OUT.svg] [model and fleet flags]`: replays a camera trace against a simulated fleet in
 * virtual time and prints what it cost and what it did to the cameras.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { optionName } from "../lambdas/core/config";
import { type CommandLine, type CommandSpec, type Output, readCommandLine, UsageError } from "../scripts/command-line";
import { renderChart } from "./chart";
import { buildOptions, INGEST_MODES, NUMERIC_FLAGS, OptionError, POLICIES, type SimOptions } from "./options";
import { formatTable, withoutSeries } from "./report";
import { simulate } from "./simulate";
import { parseTrace, TraceError } from "./trace";

/** The simulator's command: its own flags, then every model parameter and fleet knob. */
export const SIM_COMMAND: CommandSpec = {
  name: "sim",
  synopsis: "npm run sim -- --trace FILE [options]",
  summary: "Replays a camera trace (CSV: t,stream,event) against a simulated fleet, in virtual time.",
  options: {
    trace: { value: "FILE", required: true, description: "the trace to replay" },
    policy: { value: "NAME", default: "packed", description: POLICIES.join(" | ") },
    ingest: {
      value: "MODE",
      default: "resolve",
      description: `${INGEST_MODES.join(" | ")}: packed's cameras ask where to publish first, or publish to one fixed address`,
    },
    seed: { value: "N", default: "1", description: "seed of the CPU noise and the baselines' random choices" },
    json: { boolean: true, description: "print the result as JSON instead of a table" },
    chart: { value: "OUT.svg", description: "write a chart: nodes over time and CPU per node" },
    quiet: { boolean: true, description: "no progress on stderr" },
    ...Object.fromEntries(
      NUMERIC_FLAGS.map((f, i) => [
        optionName(f.key),
        {
          value: "N",
          description: f.description,
          shownDefault: String(f.defaultValue),
          heading:
            i === 0 ? "Model (the world the fleet runs in) and fleet (the policy's knobs, as FleetConfig):" : undefined,
        },
      ]),
    ),
  },
};

/** A simulation to run, as the command line asks for it. */
export interface SimRun {
  readonly trace: string;
  readonly options: SimOptions;
  readonly json: boolean;
  readonly quiet: boolean;
  readonly chart?: string;
}

/** Reads the run from the checked command line. @throws UsageError naming every bad flag */
export function readSimRun(line: CommandLine): SimRun {
  const numeric = Object.fromEntries(NUMERIC_FLAGS.map((f) => [f.key, line.values[optionName(f.key)]]));
  try {
    return {
      trace: line.values.trace as string,
      options: buildOptions(
        line.values.policy as string,
        line.values.seed as string,
        numeric,
        line.values.ingest as string,
      ),
      json: line.switches.has("json"),
      quiet: line.switches.has("quiet"),
      chart: line.values.chart,
    };
  } catch (error) {
    if (!(error instanceof OptionError)) throw error;
    throw new UsageError(error.message);
  }
}

/** Where the CLI writes. */
export interface CliIo extends Output {
  /** Whether progress may be drawn on stderr. */
  readonly progress: boolean;
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  progress: process.stderr.isTTY === true,
};

/** Runs the CLI; returns the exit code (0 done, 1 bad trace or file, 2 bad usage). */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const read = readCommandLine(SIM_COMMAND, argv, readSimRun, io);
  if ("exitCode" in read) return read.exitCode;
  const { trace: file, options, json, quiet, chart } = read.options;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    io.err(`sim: cannot read the trace ${file}: ${(error as Error).message}\n`);
    return 1;
  }
  try {
    const trace = parseTrace(text, file);
    const started = Date.now();
    const showProgress = io.progress && !quiet;
    const { result } = await simulate(trace, options, (fraction) => {
      if (showProgress) io.err(`\rsim: ${options.policy} on ${file}: ${Math.round(fraction * 100)}%`);
    });
    if (showProgress) io.err(`\rsim: ${options.policy} on ${file}: done in ${Date.now() - started} ms\n`);
    if (chart) {
      const label = `${options.policy} (seed ${options.seed})`;
      writeFileSync(chart, renderChart(file, [{ label, result }], options.fleet.cpuThresholdPercent));
    }
    if (json) io.out(`${JSON.stringify(withoutSeries(result), null, 2)}\n`);
    else io.out(`${formatTable([{ label: options.policy, result }])}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof TraceError)) throw error;
    io.err(`sim: bad trace: ${error.message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`sim: unexpected failure: ${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = 70;
    },
  );
}
