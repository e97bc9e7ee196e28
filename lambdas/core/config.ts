/**
 * The fleet's policy knobs: one typed config, validated the same way wherever it is read (CDK
 * context at synth, the Lambdas' environment at cold start, local mode's flags, the simulator).
 * A bad value is a clear error naming the key, never a silent default.
 */

/** The policy knobs of the fleet. */
export interface FleetConfig {
  /** A node is full when its estimated CPU reaches this (percent). @default 80 */
  readonly cpuThresholdPercent: number;
  /** Optional hard cap of streams + live reservations per node. @default undefined (CPU alone decides) */
  readonly maxStreamsPerNode?: number;
  /**
   * CPU cost of one stream (percent) assumed for a node that has no stream in its latest CPU sample;
   * a node with streams uses its own CPU / streams. @default 2
   */
  readonly streamCpuCostPercent: number;
  /** How long a resolve's reservation holds a slot if no publish follows (seconds). @default 60 */
  readonly reservationTtlSeconds: number;
  /** Empty nodes kept ready or launching beyond those in use. @default 1 */
  readonly bufferNodes: number;
  /**
   * When above 0, the spare also grows with arrivals: as many cameras as arrived over the last
   * `spareLeadSeconds` are expected over the next as many, and the spare is the larger of
   * `bufferNodes` and the empty nodes those need beyond the room left on the nodes in use. Set it
   * to about a node's boot time plus the scaler period; 0 keeps the fixed `bufferNodes`. @default 0
   */
  readonly spareLeadSeconds: number;
  /** Fewest nodes in the fleet. @default 1 */
  readonly minNodes: number;
  /** Most nodes in the fleet. @default 10 */
  readonly maxNodes: number;
  /** An empty node is scaled in only after it has been idle this long (seconds). @default 600 */
  readonly scaleInIdleSeconds: number;
  /** How often node agents report (seconds); a node silent for 4 periods is DEAD. @default 15 */
  readonly heartbeatSeconds: number;
}

/** The documented defaults. */
export const DEFAULT_FLEET_CONFIG: FleetConfig = Object.freeze({
  cpuThresholdPercent: 80,
  streamCpuCostPercent: 2,
  reservationTtlSeconds: 60,
  bufferNodes: 1,
  spareLeadSeconds: 0,
  minNodes: 1,
  maxNodes: 10,
  scaleInIdleSeconds: 600,
  heartbeatSeconds: 15,
});

/** Heartbeat periods of silence after which a node is DEAD. */
export const DEAD_AFTER_HEARTBEATS = 4;

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

interface Rule {
  readonly integer: boolean;
  readonly min: number;
  readonly max: number;
  /** Lower bound excluded (a value must be greater than `min`). */
  readonly exclusiveMin?: boolean;
}

const RULES: Record<keyof FleetConfig, Rule> = {
  cpuThresholdPercent: { integer: false, min: 0, max: 100, exclusiveMin: true },
  maxStreamsPerNode: { integer: true, min: 1, max: 100_000 },
  streamCpuCostPercent: { integer: false, min: 0, max: 100, exclusiveMin: true },
  reservationTtlSeconds: { integer: true, min: 5, max: 3600 },
  bufferNodes: { integer: true, min: 0, max: 1000 },
  spareLeadSeconds: { integer: true, min: 0, max: 3600 },
  minNodes: { integer: true, min: 0, max: 10_000 },
  maxNodes: { integer: true, min: 1, max: 10_000 },
  scaleInIdleSeconds: { integer: true, min: 0, max: 7 * 24 * 3600 },
  heartbeatSeconds: { integer: true, min: 1, max: 3600 },
};

/** The config keys, in a stable order. */
export const FLEET_CONFIG_KEYS = Object.keys(RULES) as (keyof FleetConfig)[];

/**
 * Validates a partial config (numbers, or numeric strings as flags and CDK context give them) over
 * the defaults. Unknown keys are refused too: a misspelt knob must not be ignored.
 * @param raw the values to apply; `undefined` values keep the default
 * @param source what the values came from, named in the error (e.g. "cdk.json context 'fleet'")
 * @throws ConfigError naming every bad key
 */
export function parseFleetConfig(raw: Readonly<Record<string, unknown>>, source = "fleet config"): FleetConfig {
  const problems: string[] = [];
  const values: Record<string, number> = { ...DEFAULT_FLEET_CONFIG };
  for (const [key, value] of Object.entries(raw)) {
    const rule = RULES[key as keyof FleetConfig];
    if (!rule) {
      problems.push(`unknown key '${key}' (known: ${FLEET_CONFIG_KEYS.join(", ")})`);
      continue;
    }
    if (value === undefined) continue;
    const num = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    if (typeof num !== "number" || !Number.isFinite(num)) {
      problems.push(`'${key}' must be a number, got ${JSON.stringify(value)}`);
      continue;
    }
    if (rule.integer && !Number.isInteger(num)) {
      problems.push(`'${key}' must be a whole number, got ${num}`);
      continue;
    }
    const belowMin = rule.exclusiveMin ? num <= rule.min : num < rule.min;
    if (belowMin || num > rule.max) {
      const low = rule.exclusiveMin ? `greater than ${rule.min}` : `at least ${rule.min}`;
      problems.push(`'${key}' must be ${low} and at most ${rule.max}, got ${num}`);
      continue;
    }
    values[key] = num;
  }
  if (problems.length === 0 && (values.maxNodes as number) < (values.minNodes as number)) {
    problems.push(`'maxNodes' (${values.maxNodes}) must be at least 'minNodes' (${values.minNodes})`);
  }
  if (problems.length > 0) throw new ConfigError(source, problems);
  return Object.freeze(values as unknown as FleetConfig);
}
