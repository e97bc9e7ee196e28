/**
 * Command-line flags: `--name value` or `--name=value`, checked against the flags a command
 * declares, with a clear message for anything else.
 */

/** A declared flag. */
export interface FlagSpec {
  readonly description: string;
  /** The default, shown in the usage; undefined: no default. */
  readonly default?: string;
  /** A flag without a value (e.g. --help). */
  readonly boolean?: boolean;
}

/** A bad command line; the message says what and how to fix it. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The usage text of a command. */
export function usage(command: string, flags: Readonly<Record<string, FlagSpec>>): string {
  const width = Math.max(...Object.keys(flags).map((name) => name.length)) + 4;
  const lines = Object.entries(flags).map(([name, spec]) => {
    const dflt = spec.default === undefined ? "" : ` (default: ${spec.default})`;
    return `  --${name.padEnd(width)}${spec.description}${dflt}`;
  });
  return `usage: ${command} [flags]\n${lines.join("\n")}`;
}

/**
 * Parses the flags; every declared flag with a default gets it.
 * @throws UsageError for an unknown flag, a missing value, or a stray argument
 */
export function parseFlags(argv: readonly string[], flags: Readonly<Record<string, FlagSpec>>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, spec] of Object.entries(flags)) if (spec.default !== undefined) values[name] = spec.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument '${arg}'`);
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    const spec = flags[name];
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    if (spec.boolean) {
      values[name] = "true";
      continue;
    }
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || (eq < 0 && value.startsWith("--"))) throw new UsageError(`--${name} needs a value`);
    values[name] = value;
  }
  return values;
}

/** A flag's value as a whole number in a range. @throws UsageError naming the flag */
export function intFlag(values: Record<string, string>, name: string, min: number, max: number): number {
  const raw = values[name];
  const value = Number(raw);
  if (raw === undefined || raw.trim() === "" || !Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got '${raw}'`);
  }
  return value;
}
