/**
 * The fleet's policy knobs: one typed config, validated the same way wherever it is read (CDK
 * context at synth, the Lambdas' environment at cold start, local mode's flags, the simulator).
 * A bad value is a clear error naming the key (or the flag that set it), never a silent default.
 *
 * `KNOBS` describes each knob once: its flag, default, unit, meaning and the values it accepts.
 * Validation, local mode's and the simulator's flags and help, and the knob tables in README.md
 * and docs/DEPLOY.md (`npm run docs:knobs`) are all made from it.
 */

/** The policy knobs of the fleet; `KNOBS` says what each one means. */
export interface FleetConfig {
  readonly cpuThresholdPercent: number;
  readonly maxStreamsPerNode?: number;
  readonly streamCpuCostPercent: number;
  readonly reservationTtlSeconds: number;
  readonly reopenSlots: number;
  readonly bufferNodes: number;
  readonly spareLeadSeconds: number;
  readonly minNodes: number;
  readonly maxNodes: number;
  readonly scaleInIdleSeconds: number;
  readonly heartbeatSeconds: number;
  readonly silenceBreakerPercent: number;
  readonly maxViewersPerStream: number;
  readonly warmPoolSize: number;
  readonly logLevel: LogLevel;
}

/** The levels the control plane logs at, least severe first: a level shows itself and those after it. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** A level of `LOG_LEVELS`. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Heartbeat periods of silence after which a node leaves placement. */
export const DEAD_AFTER_HEARTBEATS = 4;

/** The fewest nodes falling silent together that trip the silence breaker, whatever the share. */
export const SILENCE_BREAKER_MIN_NODES = 2;

/** The values a knob accepts. */
export interface KnobRule {
  readonly integer: boolean;
  readonly min: number;
  readonly max: number;
  /** Lower bound excluded (a value must be greater than `min`). */
  readonly exclusiveMin?: boolean;
}

/** What every knob of the fleet has. */
interface KnobBase {
  readonly key: keyof FleetConfig;
  /** The command-line flag that sets it: the key in kebab-case (`--cpu-threshold-percent`). */
  readonly flag: string;
  /** What it does, in one line (lower case, no final period: it reads in a table and in a usage). */
  readonly description: string;
}

/** A knob that takes a number. */
export interface NumberKnob extends KnobBase, KnobRule {
  /** Its default; undefined: unset unless given. */
  readonly default: number | undefined;
  /** Local mode's default, where it differs: quicker where waiting would only slow a demo down. */
  readonly localDefault?: number;
  readonly unit: "%" | "s" | "nodes" | "streams" | "viewers";
}

/** A knob that takes one of a few words. */
export interface ChoiceKnob extends KnobBase {
  readonly choices: readonly string[];
  readonly default: string;
  /** Local mode's default, where it differs. */
  readonly localDefault?: string;
  readonly unit: "";
}

/** One knob of the fleet. */
export type Knob = NumberKnob | ChoiceKnob;

/** True for a knob that takes one of a few words rather than a number. */
export function isChoiceKnob(knob: Knob): knob is ChoiceKnob {
  return "choices" in knob;
}

/** A share of a node's CPU: 0 would make every node full, or every stream free. */
const CPU_PERCENT = { unit: "%", integer: false, min: 0, exclusiveMin: true, max: 100 } as const;

/** The table, typed so that every key of `FleetConfig` is described exactly once, by the kind of knob its values need. */
const KNOB_TABLE: {
  readonly [K in keyof FleetConfig]-?: Omit<FleetConfig[K] extends string ? ChoiceKnob : NumberKnob, "key" | "flag">;
} = {
  cpuThresholdPercent: {
    ...CPU_PERCENT,
    default: 80,
    description:
      "a node is full when its estimated CPU (latest sample plus the estimated cost of its reservations) reaches this",
  },
  maxStreamsPerNode: {
    default: undefined,
    unit: "streams",
    integer: true,
    min: 1,
    max: 100_000,
    description: "optional hard cap of streams and live reservations per node; unset, CPU alone decides",
  },
  streamCpuCostPercent: {
    ...CPU_PERCENT,
    default: 2,
    description:
      "CPU one stream is assumed to cost above a node's idle CPU until the node's own readings show what it costs there (they outweigh this within a few heartbeats)",
  },
  reservationTtlSeconds: {
    default: 60,
    unit: "s",
    integer: true,
    min: 5,
    max: 3600,
    description: "how long a resolve holds a slot if no publish follows",
  },
  reopenSlots: {
    default: 8,
    // Local mode's front door moves by an instant reload: no camera waits for it to follow.
    localDefault: 1,
    unit: "streams",
    integer: true,
    min: 1,
    max: 1000,
    description:
      "free slots a node that was full needs before it takes new cameras again (at most its whole limit): one stream ending or one low CPU reading does not make it first in fill order again, so placement and the fixed ingest address do not move back and forth",
  },
  bufferNodes: {
    default: 1,
    unit: "nodes",
    integer: true,
    min: 0,
    max: 1000,
    description:
      "room kept ready beyond the cameras in use and those waiting for room, in new nodes' worth of slots: the free slots of the nodes in use count, empty nodes ready or launching make up the rest; 0 launches only when the filling node is full or cameras wait",
  },
  spareLeadSeconds: {
    default: 0,
    unit: "s",
    integer: true,
    min: 0,
    max: 3600,
    description:
      "when above 0, the spare also covers as many cameras as arrived over the last this many seconds, beyond the room left on the nodes in use (`bufferNodes` stays its floor); about a node's boot time plus the scaler period, e.g. 180",
  },
  minNodes: {
    default: 1,
    unit: "nodes",
    integer: true,
    min: 0,
    max: 10_000,
    description: "fewest nodes in use or ready, the group's minimum size; the fleet rests at `minNodes + bufferNodes`",
  },
  maxNodes: {
    default: 10,
    localDefault: 5,
    unit: "nodes",
    integer: true,
    min: 1,
    max: 10_000,
    description: "most nodes, the group's maximum size",
  },
  scaleInIdleSeconds: {
    default: 300,
    localDefault: 60,
    unit: "s",
    integer: true,
    min: 0,
    max: 7 * 24 * 3600,
    description: "an empty node is drained and terminated only after this long idle",
  },
  heartbeatSeconds: {
    default: 15,
    localDefault: 5,
    unit: "s",
    integer: true,
    min: 1,
    max: 3600,
    description: `how often node agents report; a node silent for ${DEAD_AFTER_HEARTBEATS} periods leaves placement (SILENT, or DEAD when it carries nothing or its machine is gone)`,
  },
  silenceBreakerPercent: {
    default: 30,
    unit: "%",
    integer: true,
    min: 1,
    max: 100,
    description: `when this share of the nodes (and at least ${SILENCE_BREAKER_MIN_NODES}) fall silent within one window of ${DEAD_AFTER_HEARTBEATS} heartbeat periods, the control plane is blamed: nothing is terminated for silence, and an alarm fires`,
  },
  maxViewersPerStream: {
    default: 20,
    unit: "viewers",
    integer: true,
    min: 1,
    max: 10_000,
    description:
      "players one stream may have at once (with viewer access on); `on_play` refuses the next one, and `/play` says why",
  },
  warmPoolSize: {
    default: 0,
    unit: "nodes",
    integer: true,
    min: 0,
    max: 10_000,
    description:
      "AWS: stopped, pre-installed instances kept in the group's warm pool, which a scale-out starts before it launches new ones (they pay their disks only; each one used is replaced by a new one, as the simulator models); 0: no pool, at most `maxNodes`",
  },
  logLevel: {
    choices: LOG_LEVELS,
    default: "info",
    // The terminal is local mode's log: its own messages, and the handlers' warnings and errors.
    localDefault: "warn",
    unit: "",
    description:
      "the least severe level the control plane logs: `info` has each camera's path (reserved, live, ended), `warn` only refusals and failures",
  },
};

/** `cpuThresholdPercent` → `cpu-threshold-percent`: a key's command-line option name. */
export function optionName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `cpuThresholdPercent` → `--cpu-threshold-percent`: the flag that sets a key. */
export function flagOf(key: string): string {
  return `--${optionName(key)}`;
}

/** Every knob, in a stable order (the order of the docs and of the usage). */
export const KNOBS: readonly Knob[] = Object.entries(KNOB_TABLE).map(([key, knob]) =>
  Object.freeze({ key: key as keyof FleetConfig, flag: flagOf(key), ...knob }),
);

function defaults(pick: (knob: Knob) => number | string | undefined): FleetConfig {
  const set = KNOBS.filter((knob) => pick(knob) !== undefined);
  return Object.freeze(Object.fromEntries(set.map((knob) => [knob.key, pick(knob)]))) as unknown as FleetConfig;
}

/** The defaults of every knob (the AWS deployment's; `LOCAL_FLEET_CONFIG` has local mode's). */
export const DEFAULT_FLEET_CONFIG: FleetConfig = defaults((knob) => knob.default);

/** Local mode's defaults: the documented ones, but quicker where waiting would only slow a demo down. */
export const LOCAL_FLEET_CONFIG: FleetConfig = defaults((knob) => knob.localDefault ?? knob.default);

/** A config that failed validation; `problems` names each bad key. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid ${source}: ${problems.join("; ")}`);
    this.name = "ConfigError";
  }
}

/**
 * How a config's errors name its keys: as keys (`'bufferNodes'`, for CDK context and the
 * environment) or as the flags the values came from (`--buffer-nodes`).
 */
export type KeyNaming = "key" | "flag";

/** Why a value is refused by its knob, or undefined when it is accepted. */
function valueProblem(knob: Knob, value: unknown, name: string): string | undefined {
  if (isChoiceKnob(knob)) {
    if (typeof value === "string" && knob.choices.includes(value)) return undefined;
    return `${name} must be one of ${knob.choices.join(", ")}, got ${JSON.stringify(value)}`;
  }
  const num = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof num !== "number" || !Number.isFinite(num)) return `${name} must be a number, got ${JSON.stringify(value)}`;
  if (knob.integer && !Number.isInteger(num)) return `${name} must be a whole number, got ${num}`;
  const belowMin = knob.exclusiveMin ? num <= knob.min : num < knob.min;
  if (belowMin || num > knob.max) {
    const low = knob.exclusiveMin ? `greater than ${knob.min}` : `at least ${knob.min}`;
    return `${name} must be ${low} and at most ${knob.max}, got ${num}`;
  }
  return undefined;
}

/**
 * Validates a partial config (numbers, or numeric strings as flags and CDK context give them; the
 * log level as one of its words) over the defaults. Unknown keys are refused too: a misspelt knob must not be ignored.
 * @param raw the values to apply; `undefined` values keep the default
 * @param source what the values came from, named in the error (e.g. "cdk.json context 'fleet'")
 * @param naming whether the problems name keys or the flags that set them
 * @throws ConfigError naming every bad key
 */
export function parseFleetConfig(
  raw: Readonly<Record<string, unknown>>,
  source = "fleet config",
  naming: KeyNaming = "key",
): FleetConfig {
  const nameOf = (key: string) => (naming === "flag" ? flagOf(key) : `'${key}'`);
  const problems: string[] = [];
  const values: Record<string, number | string | undefined> = { ...DEFAULT_FLEET_CONFIG };
  for (const [key, value] of Object.entries(raw)) {
    const knob = KNOBS.find((k) => k.key === key);
    if (!knob) {
      const known = KNOBS.map((k) => (naming === "flag" ? k.flag : k.key));
      problems.push(`unknown ${naming} ${nameOf(key)} (known: ${known.join(", ")})`);
      continue;
    }
    if (value === undefined) continue;
    const problem = valueProblem(knob, value, nameOf(key));
    if (problem) problems.push(problem);
    else values[key] = isChoiceKnob(knob) ? (value as string) : Number(value);
  }
  if (problems.length === 0 && (values.maxNodes as number) < (values.minNodes as number)) {
    problems.push(
      `${nameOf("maxNodes")} (${values.maxNodes}) must be at least ${nameOf("minNodes")} (${values.minNodes})`,
    );
  }
  // A pool beyond the group's maximum could never be drawn from whole: a deploy error, not a silent cap.
  if (problems.length === 0 && (values.warmPoolSize as number) > (values.maxNodes as number)) {
    problems.push(
      `${nameOf("warmPoolSize")} (${values.warmPoolSize}) must be at most ${nameOf("maxNodes")} (${values.maxNodes})`,
    );
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
  return Object.freeze(values as unknown as FleetConfig);
}
