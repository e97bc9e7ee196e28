/**
 * The command lines of the project's tools (local mode, status, the simulator, camera-key, the
 * benchmarks, docs:knobs): arguments tokenized by node:util's parseArgs and checked against the
 * options a command declares, `--help` and `-h`, a usage made from the same declarations, and a
 * one-line error followed by the usage (exit code 2) for anything else.
 *
 * parseArgs' own strict mode is not used: it refuses `--buffer-nodes -1` as "ambiguous" before the
 * value can be checked (the clear message is "--buffer-nodes must be at least 0"), and its errors
 * are several sentences that do not give the flag's name. The checks below are strict mode's,
 * with a value that looks like a number accepted after its flag.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

/** One option of a command, named as typed after `--`. */
export interface OptionSpec {
  readonly description: string;
  /** A switch without a value (e.g. `--json`); otherwise the option takes one. */
  readonly boolean?: boolean;
  /** What the value is, in the usage (e.g. `N`, `FILE`). @default "VALUE" */
  readonly value?: string;
  /** The value when the option is not given; shown in the usage. */
  readonly default?: string;
  /** The default shown in the usage when the command applies it itself (e.g. it depends on another option). */
  readonly shownDefault?: string;
  readonly required?: boolean;
  /** A line the usage prints before this option, to start a group of options. */
  readonly heading?: string;
}

/** What a command accepts. */
export interface CommandSpec {
  /** Names the command in its errors, e.g. `local mode`. */
  readonly name: string;
  /** How it is run, after `usage: ` (e.g. `npm run local -- [flags]`). */
  readonly synopsis: string;
  /** A paragraph under the synopsis. */
  readonly summary?: string;
  /** Its options; `help` (`-h`) is added first. */
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** The positional arguments it requires, in order (e.g. `STREAM`); none by default. */
  readonly positionals?: readonly string[];
  /** Renamed options, old name to new: a script with the old spelling fails saying what to type. */
  readonly renamed?: Readonly<Record<string, string>>;
  /** Options no longer taken, with what to do instead: a script that gives one fails saying so. */
  readonly withdrawn?: Readonly<Record<string, string>>;
}

/** A command line as given, checked against the command's options. */
export interface CommandLine {
  /** Options with a value, defaults filled in. */
  readonly values: Readonly<Record<string, string | undefined>>;
  /** Switches given. */
  readonly switches: ReadonlySet<string>;
  readonly positionals: readonly string[];
}

/** A bad command line: `problem` says what is wrong and how to put it right. */
export class UsageError extends Error {
  constructor(
    readonly problem: string,
    readonly usage?: string,
  ) {
    super(usage === undefined ? problem : `${problem}\n${usage}`);
    this.name = "UsageError";
  }
}

/** What parsing returns when the command line asks for the usage. */
export const HELP = Symbol("help");

const HELP_OPTION: OptionSpec = { boolean: true, description: "print this help" };

function optionsOf(spec: CommandSpec): Readonly<Record<string, OptionSpec>> {
  return { help: HELP_OPTION, ...spec.options };
}

function shownName(name: string, option: OptionSpec): string {
  const flag = name === "help" ? "-h, --help" : `--${name}`;
  return option.boolean ? flag : `${flag} ${option.value ?? "VALUE"}`;
}

/** The usage text of a command: its synopsis, summary and every option with its default. */
export function usage(spec: CommandSpec): string {
  const options = Object.entries(optionsOf(spec));
  const width = Math.max(...options.map(([name, option]) => shownName(name, option).length)) + 3;
  const lines = [`usage: ${spec.synopsis}`, ...(spec.summary ? ["", spec.summary] : []), ""];
  for (const [name, option] of options) {
    if (option.heading) lines.push("", option.heading);
    const shown = option.default ?? option.shownDefault;
    const dflt = shown === undefined ? "" : ` (default ${shown})`;
    lines.push(`  ${shownName(name, option).padEnd(width)}${option.description}${dflt}`);
  }
  return lines.join("\n");
}

/** A value taken from the next argument that is rather an option (`--json`, `-h`; `-1` is a value). */
function looksLikeOption(value: string): boolean {
  return value.startsWith("-") && !Number.isFinite(Number(value));
}

function tokenize(spec: CommandSpec, argv: readonly string[]): CommandLine {
  const options = optionsOf(spec);
  const config = Object.fromEntries(
    Object.entries(options).map(([name, option]) => [
      name,
      { type: option.boolean ? ("boolean" as const) : ("string" as const), ...(name === "help" && { short: "h" }) },
    ]),
  );
  const { tokens } = parseArgs({
    args: [...argv],
    options: config,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, string> = {};
  const switches = new Set<string>();
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === "positional") positionals.push(token.value);
    if (token.kind !== "option") continue;
    const option = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    const renamed = spec.renamed?.[token.name];
    if (!option && renamed) throw new UsageError(`${token.rawName} is now --${renamed}`);
    // Named without its value: a withdrawn option may have carried a secret.
    const withdrawn = spec.withdrawn?.[token.name];
    if (!option && withdrawn) throw new UsageError(`${token.rawName} is no longer taken: ${withdrawn}`);
    if (!option) throw new UsageError(`unknown option ${token.rawName}`);
    if (option.boolean) {
      if (token.value !== undefined) throw new UsageError(`${token.rawName} takes no value`);
      switches.add(token.name);
    } else {
      if (token.value === undefined || (!token.inlineValue && looksLikeOption(token.value))) {
        throw new UsageError(`${token.rawName} needs a value`);
      }
      values[token.name] = token.value;
    }
  }
  return { values, switches, positionals };
}

function complete(spec: CommandSpec, line: CommandLine): CommandLine {
  const wanted = spec.positionals ?? [];
  const extra = line.positionals[wanted.length];
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`);
  if (line.positionals.length < wanted.length) throw new UsageError(`${wanted[line.positionals.length]} is missing`);
  const values = { ...line.values };
  for (const [name, option] of Object.entries(spec.options)) {
    values[name] ??= option.default;
    if (option.required && values[name] === undefined) {
      throw new UsageError(`${shownName(name, option)} is required`);
    }
  }
  return { ...line, values };
}

/**
 * Parses a command line and reads the command's options from it.
 * @param read turns the checked command line into the command's options; it throws UsageError for a bad value
 * @returns the options, or HELP for `--help` / `-h`
 * @throws UsageError with the usage in its message
 */
export function parseCommandLine<T>(
  spec: CommandSpec,
  argv: readonly string[],
  read: (line: CommandLine) => T,
): T | typeof HELP {
  try {
    const line = tokenize(spec, argv);
    if (line.switches.has("help")) return HELP;
    return read(complete(spec, line));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(error.problem, usage(spec));
  }
}

/** An option's value as a whole number in a range. @throws UsageError naming the option */
export function wholeNumber(line: CommandLine, name: string, min: number, max: number): number {
  const raw = line.values[name];
  const value = Number(raw);
  if (raw === undefined || raw.trim() === "" || !Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got '${raw}'`);
  }
  return value;
}

/**
 * An option's value as an http(s) base URL without its final slash, or undefined when not given.
 * @throws UsageError naming the option
 */
export function httpUrl(line: CommandLine, name: string): string | undefined {
  const url = line.values[name];
  if (url === undefined) return undefined;
  if (!/^https?:\/\/[^/]/.test(url)) throw new UsageError(`--${name} must be an http:// or https:// URL, got '${url}'`);
  return url.replace(/\/$/, "");
}

/**
 * A secret a command takes from the environment or from a file, never from its command line:
 * every user of the machine can read a process's arguments (`ps`, /proc/PID/cmdline).
 */
export interface SecretInput {
  /** What it is, in errors and the usage, e.g. `camera master secret`. */
  readonly what: string;
  /** The environment variable that holds it, e.g. `CAMERA_MASTER_SECRET`. */
  readonly env: string;
  /** The option naming a file that holds it, e.g. `camera-secret-file`. */
  readonly fileOption: string;
}

export const CAMERA_MASTER_SECRET: SecretInput = {
  what: "camera master secret",
  env: "CAMERA_MASTER_SECRET",
  fileOption: "camera-secret-file",
};

export const VIEWER_MASTER_SECRET: SecretInput = {
  what: "viewer master secret",
  env: "VIEWER_MASTER_SECRET",
  fileOption: "viewer-secret-file",
};

export const OPERATOR_TOKEN: SecretInput = {
  what: "operator token",
  env: "OPERATOR_TOKEN",
  fileOption: "operator-token-file",
};

/** A secret's file option, for a command's options; `effect` says what giving the secret does. */
export function secretFileOption(secret: SecretInput, effect: string): OptionSpec {
  return { value: "PATH", description: `file holding the ${secret.what} (or set ${secret.env}): ${effect}` };
}

/** What to do instead of passing a secret as an argument: the message of its withdrawn option. */
export function secretNotOnCommandLine(secret: SecretInput): string {
  return `the ${secret.what} no longer goes on the command line, where any user of the machine can read it (ps): set ${secret.env} or give --${secret.fileOption} PATH`;
}

const READ_PROBLEMS: Readonly<Record<string, string>> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EISDIR: "it is a directory",
};

/**
 * Reads a secret from its environment variable or from its file (without the file's final newline).
 * @returns undefined when neither is given
 * @throws UsageError when both are given, or the variable or the file is empty, or the file cannot be read
 */
export function readSecret(
  line: CommandLine,
  secret: SecretInput,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const fromEnv = env[secret.env];
  const file = line.values[secret.fileOption];
  if (fromEnv !== undefined && file !== undefined) {
    throw new UsageError(`the ${secret.what} is given twice, in ${secret.env} and in --${secret.fileOption}: keep one`);
  }
  if (fromEnv === "")
    throw new UsageError(`${secret.env} is empty: give the ${secret.what}, or unset it to run without`);
  if (file === undefined) return fromEnv;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    throw new UsageError(`--${secret.fileOption}: cannot read '${file}': ${READ_PROBLEMS[code ?? ""] ?? message}`);
  }
  const value = text.replace(/[\r\n]+$/, "");
  if (value === "") throw new UsageError(`--${secret.fileOption}: '${file}' is empty`);
  return value;
}

/**
 * Reads the command line of a command that takes no arguments (only `--help`).
 * @returns whether to run: false after the usage or a bad command line, which set the exit code
 */
export function noArguments(
  spec: CommandSpec,
  argv: readonly string[] = process.argv.slice(2),
  output: Output = STDIO,
): boolean {
  const read = readCommandLine(spec, argv, () => undefined, output);
  if ("exitCode" in read) process.exitCode = read.exitCode;
  return !("exitCode" in read);
}

/** Where a command writes. */
export interface Output {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const STDIO: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/**
 * Parses a command line for a command's main: prints the usage for `--help`, or each problem
 * (`name: problem`) and the usage for a bad command line.
 * @returns the options, or the exit code when there is nothing to run (0 after --help, 2 for a bad command line)
 */
export function readCommandLine<T>(
  spec: CommandSpec,
  argv: readonly string[],
  read: (line: CommandLine) => T,
  output: Output = STDIO,
): { readonly options: T } | { readonly exitCode: 0 | 2 } {
  try {
    const options = parseCommandLine(spec, argv, read);
    if (options !== HELP) return { options };
    output.out(`${usage(spec)}\n`);
    return { exitCode: 0 };
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const problems = error.problem.split("\n").map((line) => `${spec.name}: ${line}\n`);
    output.err(`${problems.join("")}${usage(spec)}\n`);
    return { exitCode: 2 };
  }
}
