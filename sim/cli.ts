/**
 * `npm run sim -- --trace FILE [--policy packed|round-robin|least-loaded] [--seed N] [--json]
 * [--chart OUT.svg] [model and fleet flags]`: replays a camera trace against a simulated fleet in
 * virtual time and prints what it cost and what it did to the cameras.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { renderChart } from "./chart";
import { buildOptions, NUMERIC_FLAGS, OptionError, POLICIES } from "./options";
import { formatTable, withoutSeries } from "./report";
import { simulate } from "./simulate";
import { parseTrace, TraceError } from "./trace";

/** The command line, parsed. */
export interface CliArgs {
  readonly trace?: string;
  readonly policy: string;
  readonly seed: string;
  readonly json: boolean;
  readonly quiet: boolean;
  readonly help: boolean;
  readonly chart?: string;
  /** Numeric flags by option key (e.g. `bootSeconds`), as typed. */
  readonly numeric: Record<string, string>;
}

/** The usage text, with every model and fleet flag and its default. */
export function usage(): string {
  const flags = NUMERIC_FLAGS.map((f) => `  ${`${f.flag} N`.padEnd(34)}${f.description} (default ${f.defaultValue})`);
  return [
    "usage: npm run sim -- --trace FILE [options]",
    "",
    "Replays a camera trace (CSV: t,stream,event) against a simulated fleet, in virtual time.",
    "",
    `  ${"--trace FILE".padEnd(34)}the trace to replay (required)`,
    `  ${"--policy NAME".padEnd(34)}${POLICIES.join(" | ")} (default packed)`,
    `  ${"--seed N".padEnd(34)}seed of the CPU noise and the baselines' random choices (default 1)`,
    `  ${"--json".padEnd(34)}print the result as JSON instead of a table`,
    `  ${"--chart OUT.svg".padEnd(34)}write a chart: nodes over time and CPU per node`,
    `  ${"--quiet".padEnd(34)}no progress on stderr`,
    "",
    "Model (the world the fleet runs in) and fleet (the policy's knobs, as FleetConfig) flags:",
    ...flags,
    "",
  ].join("\n");
}

/**
 * Parses the command line (`--flag value` or `--flag=value`).
 * @throws OptionError for an unknown flag or a missing value
 */
export function parseArgs(argv: readonly string[]): CliArgs {
  const numericKeys = new Map(NUMERIC_FLAGS.map((f) => [f.flag, f.key]));
  const strings: Record<string, string> = {};
  const numeric: Record<string, string> = {};
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith("--")) throw new OptionError(`unexpected argument '${arg}' (see --help)`);
    const eq = arg.indexOf("=");
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    if (["--json", "--quiet", "--help"].includes(flag)) {
      if (eq >= 0) throw new OptionError(`${flag} takes no value`);
      switches.add(flag);
      continue;
    }
    const isString = ["--trace", "--policy", "--seed", "--chart"].includes(flag);
    const key = numericKeys.get(flag);
    if (!isString && key === undefined) throw new OptionError(`unknown option ${flag} (see --help)`);
    let value: string | undefined;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined || (eq < 0 && value.startsWith("--"))) throw new OptionError(`${flag} needs a value`);
    if (isString) strings[flag.slice(2)] = value;
    else numeric[key as string] = value;
  }
  return {
    trace: strings.trace,
    policy: strings.policy ?? "packed",
    seed: strings.seed ?? "1",
    chart: strings.chart,
    json: switches.has("--json"),
    quiet: switches.has("--quiet"),
    help: switches.has("--help"),
    numeric,
  };
}

/** Where the CLI writes. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
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
  try {
    const args = parseArgs(argv);
    if (args.help) {
      io.out(usage());
      return 0;
    }
    if (!args.trace) throw new OptionError("--trace FILE is required (see --help)");
    const options = buildOptions(args.policy, args.seed, args.numeric);
    let text: string;
    try {
      text = readFileSync(args.trace, "utf8");
    } catch (error) {
      io.err(`sim: cannot read the trace ${args.trace}: ${(error as Error).message}\n`);
      return 1;
    }
    const trace = parseTrace(text, args.trace);
    const started = Date.now();
    const showProgress = io.progress && !args.quiet;
    const { result } = await simulate(trace, options, (fraction) => {
      if (showProgress) io.err(`\rsim: ${options.policy} on ${args.trace}: ${Math.round(fraction * 100)}%`);
    });
    if (showProgress) io.err(`\rsim: ${options.policy} on ${args.trace}: done in ${Date.now() - started} ms\n`);
    if (args.chart) {
      const label = `${options.policy} (seed ${options.seed})`;
      writeFileSync(args.chart, renderChart(args.trace, [{ label, result }], options.fleet.cpuThresholdPercent));
    }
    if (args.json) io.out(`${JSON.stringify(withoutSeries(result), null, 2)}\n`);
    else io.out(`${formatTable([{ label: options.policy, result }])}\n`);
    return 0;
  } catch (error) {
    if (error instanceof OptionError) {
      for (const line of error.message.split("\n")) io.err(`sim: ${line}\n`);
      return 2;
    }
    if (error instanceof TraceError) {
      io.err(`sim: bad trace: ${error.message}\n`);
      return 1;
    }
    throw error;
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
