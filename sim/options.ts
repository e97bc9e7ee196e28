/**
 * The simulator's options: the policy, the seed, the fleet's policy knobs (`FleetConfig`, validated
 * by `parseFleetConfig` like everywhere else) and the model of the world the fleet runs in. One
 * table of flags drives the CLI, its help and the benchmark's documentation.
 */
import {
  ConfigError,
  DEFAULT_FLEET_CONFIG,
  type FleetConfig,
  flagOf,
  isChoiceKnob,
  KNOBS,
  type Knob,
  parseFleetConfig,
} from "../lambdas/core/config";
import { streamCap } from "../lambdas/core/cpu-profile";

/** The placement and scaling policies the simulator can run. */
export const POLICIES = ["packed", "round-robin", "least-loaded"] as const;
/** A placement and scaling policy: ours (`packed`) or a baseline. */
export type PolicyName = (typeof POLICIES)[number];

/**
 * How `packed`'s cameras find their node: they ask first (`resolve`, then publish where they were
 * sent), or they publish to one fixed address (`fixed`), a load balancer whose single target
 * follows placement (`sim/fixed-ingest.ts`).
 */
export const INGEST_MODES = ["resolve", "fixed"] as const;
export type IngestMode = (typeof INGEST_MODES)[number];

/** The world the fleet runs in, and the baselines' Auto Scaling settings. */
export interface ModelParameters {
  /** From launch until nginx answers and the agent reports, apt installing nginx on the way (seconds). */
  readonly coldBootSeconds: number;
  /** From a stopped warm pool node's start until its agent reports: nginx is installed already (seconds). */
  readonly warmBootSeconds: number;
  /** A node's CPU with no stream (percent of its nginx worker's core, the agent's scale). */
  readonly baseCpuPercent: number;
  /** What one camera stream adds to a node's CPU (percent of its nginx worker's core). */
  readonly streamCpuPercent: number;
  /** Standard deviation of the CPU noise (percent points), correlated over about 30 s. */
  readonly cpuNoisePercent: number;
  /** How often the scheduled scaler runs (seconds). */
  readonly scalerSeconds: number;
  /** Baselines: a CloudWatch 1-minute CPU average becomes readable this long after its minute ends (seconds). */
  readonly metricDelaySeconds: number;
  /** From a camera's resolve to its publish reaching nginx (seconds). */
  readonly connectSeconds: number;
  /** The fleet runs this long before the trace starts, so it starts at its resting size (seconds). */
  readonly warmupSeconds: number;
  /** Baselines: the target tracking policy's average CPU target (percent). @default 50 (round-robin), 60 (least-loaded) */
  readonly targetCpuPercent?: number;
  /** Baselines: a new instance's CPU joins the group's metric after this long in service (seconds). */
  readonly instanceWarmupSeconds: number;
  /** Baselines: least time between a scaling activity and a scale-in (seconds). */
  readonly scaleInCooldownSeconds: number;
  /** Baselines: the load balancer's deregistration delay: a scaled-in node is terminated this long after it stops taking streams (seconds). */
  readonly deregistrationDelaySeconds: number;
  /** Baselines: the Auto Scaling group's minimum capacity. */
  readonly baselineMinNodes: number;
  /**
   * Fixed ingest: from the control plane choosing another node to the load balancer sending new
   * cameras there (seconds): the new target's health checks, 10 s apart, 3 in a row to be healthy.
   */
  readonly ingestSwitchSeconds: number;
  /** Fixed ingest: a refused camera's firmware connects again after this (seconds). */
  readonly cameraRetrySeconds: number;
}

/** Everything a simulation run needs besides the trace. */
export interface SimOptions {
  readonly policy: PolicyName;
  readonly ingest: IngestMode;
  readonly seed: number;
  readonly fleet: FleetConfig;
  readonly model: ModelParameters;
}

/** The model's documented defaults. */
export const DEFAULT_MODEL: ModelParameters = Object.freeze({
  coldBootSeconds: 120,
  warmBootSeconds: 30,
  baseCpuPercent: 5,
  streamCpuPercent: 1.6,
  cpuNoisePercent: 2,
  scalerSeconds: 60,
  metricDelaySeconds: 60,
  connectSeconds: 1,
  warmupSeconds: 300,
  instanceWarmupSeconds: 300,
  scaleInCooldownSeconds: 300,
  deregistrationDelaySeconds: 300,
  baselineMinNodes: 1,
  ingestSwitchSeconds: 30,
  cameraRetrySeconds: 10,
});

/**
 * Where the simulator departs from the product's fleet defaults: `maxNodes` 10 would cap the day
 * trace's peak (400 cameras need 9 nodes plus the spare).
 */
export const SIM_FLEET_DEFAULTS: Readonly<Partial<FleetConfig>> = Object.freeze({ maxNodes: 100 });

/** The default target of each baseline's target tracking policy (percent). */
export const BASELINE_TARGET_CPU: Readonly<Record<Exclude<PolicyName, "packed">, number>> = {
  "round-robin": 50,
  "least-loaded": 60,
};

/** One numeric flag: a model parameter or a fleet config key. */
export interface NumericFlag {
  /** The flag, e.g. `--cold-boot-seconds`. */
  readonly flag: string;
  readonly group: "model" | "fleet";
  readonly key: string;
  /** Its default, or a phrase when it depends on the policy. */
  readonly defaultValue: number | string;
  readonly description: string;
  readonly integer: boolean;
  readonly min: number;
}

const MODEL_FLAGS: readonly Omit<NumericFlag, "flag" | "group" | "defaultValue">[] = [
  {
    key: "coldBootSeconds",
    description: "launch until the node's agent reports ready, apt installing nginx on the way (s)",
    integer: false,
    min: 0,
  },
  {
    key: "warmBootSeconds",
    description: "start of a stopped warm pool node until its agent reports ready (s)",
    integer: false,
    min: 0,
  },
  {
    key: "baseCpuPercent",
    description: "a node's CPU with no stream (% of its nginx worker's core)",
    integer: false,
    min: 0,
  },
  {
    key: "streamCpuPercent",
    description: "CPU one camera stream adds (% of the worker's core)",
    integer: false,
    min: 0.001,
  },
  {
    key: "cpuNoisePercent",
    description: "standard deviation of CPU noise, correlated over ~30 s (points)",
    integer: false,
    min: 0,
  },
  { key: "scalerSeconds", description: "period of the scheduled scaler run (s)", integer: false, min: 1 },
  {
    key: "metricDelaySeconds",
    description: "baselines: a CloudWatch 1-minute CPU average is readable this long after its minute (s)",
    integer: false,
    min: 0,
  },
  { key: "connectSeconds", description: "resolve to publish (s)", integer: false, min: 0 },
  { key: "warmupSeconds", description: "the fleet runs this long before the trace starts (s)", integer: false, min: 0 },
  {
    key: "targetCpuPercent",
    description: "baselines: target tracking's average CPU target (%)",
    integer: false,
    min: 1,
  },
  {
    key: "instanceWarmupSeconds",
    description: "baselines: a new instance joins the CPU metric after this (s)",
    integer: false,
    min: 0,
  },
  {
    key: "scaleInCooldownSeconds",
    description: "baselines: least time from a scaling activity to a scale-in (s)",
    integer: false,
    min: 0,
  },
  {
    key: "deregistrationDelaySeconds",
    description: "baselines: a scaled-in node is terminated this long after it leaves the load balancer (s)",
    integer: false,
    min: 0,
  },
  { key: "baselineMinNodes", description: "baselines: the group's minimum capacity", integer: true, min: 0 },
  {
    key: "ingestSwitchSeconds",
    description: "fixed ingest: the load balancer sends new cameras to a new target this long after it is chosen (s)",
    integer: false,
    min: 0,
  },
  {
    key: "cameraRetrySeconds",
    description: "fixed ingest: a refused camera connects again after this (s)",
    integer: false,
    min: 0.001,
  },
];

/** How the baselines use the fleet's knobs; they ignore the others, which only `packed` reads. */
const BASELINES_USE: Partial<Record<keyof FleetConfig, string>> = {
  cpuThresholdPercent: "all policies: a node is overloaded 10 points above it",
  maxNodes: "the baselines' group maximum too",
};

/** A fleet knob's description in the simulator: which policies it applies to. */
function fleetDescription(knob: Knob): string {
  const baselines = BASELINES_USE[knob.key];
  return `packed: ${knob.description}${baselines ? `; ${baselines}` : ""} (${knob.unit})`;
}

/** Every numeric flag, model parameters first. */
export const NUMERIC_FLAGS: readonly NumericFlag[] = [
  ...MODEL_FLAGS.map(
    (f): NumericFlag => ({
      ...f,
      flag: flagOf(f.key),
      group: "model",
      defaultValue:
        f.key === "targetCpuPercent"
          ? "50 (round-robin), 60 (least-loaded)"
          : (DEFAULT_MODEL[f.key as keyof ModelParameters] as number),
    }),
  ),
  // The log level is not the simulator's: it runs the core, not the handlers that log.
  ...KNOBS.filter((knob) => !isChoiceKnob(knob)).map(
    (knob): NumericFlag => ({
      key: knob.key,
      flag: knob.flag,
      group: "fleet",
      defaultValue: { ...DEFAULT_FLEET_CONFIG, ...SIM_FLEET_DEFAULTS }[knob.key] ?? "none",
      description: fleetDescription(knob),
      integer: false,
      min: Number.NEGATIVE_INFINITY,
    }),
  ),
];

/** A bad option, in words for the command line. */
export class OptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OptionError";
  }
}

/**
 * Builds the options from flag values (strings as the command line gives them, or numbers).
 * Fleet keys go through `parseFleetConfig`, its messages naming the flags.
 * @throws OptionError naming every bad flag
 */
export function buildOptions(
  policy: string,
  seed: number | string,
  values: Readonly<Record<string, string | number | undefined>> = {},
  ingest = "resolve",
): SimOptions {
  const problems: string[] = [];
  if (!(POLICIES as readonly string[]).includes(policy)) {
    problems.push(`--policy must be one of ${POLICIES.join(", ")}, got '${policy}'`);
  }
  if (!(INGEST_MODES as readonly string[]).includes(ingest)) {
    problems.push(`--ingest must be one of ${INGEST_MODES.join(", ")}, got '${ingest}'`);
  } else if (ingest === "fixed" && policy !== "packed") {
    problems.push(`--ingest fixed is packed's front door; ${policy} is a load balancer already`);
  }
  const seedNumber = typeof seed === "number" ? seed : seed.trim() === "" ? Number.NaN : Number(seed);
  if (!Number.isSafeInteger(seedNumber) || seedNumber < 0) {
    problems.push(`--seed must be a whole number at least 0, got '${seed}'`);
  }
  const model: Record<string, number | undefined> = { ...DEFAULT_MODEL };
  const fleetRaw: Record<string, unknown> = { ...SIM_FLEET_DEFAULTS };
  const known = new Set(NUMERIC_FLAGS.map((f) => f.key));
  for (const [key, value] of Object.entries(values)) {
    if (!known.has(key)) {
      problems.push(`unknown option ${flagOf(key)}`);
      continue;
    }
    if (value === undefined) continue;
    const spec = NUMERIC_FLAGS.find((f) => f.key === key) as NumericFlag;
    if (spec.group === "fleet") {
      fleetRaw[key] = value;
      continue;
    }
    const num = typeof value === "number" ? value : value.trim() === "" ? Number.NaN : Number(value);
    if (!Number.isFinite(num)) problems.push(`${spec.flag} must be a number, got '${value}'`);
    else if (spec.integer && !Number.isInteger(num)) problems.push(`${spec.flag} must be a whole number, got ${num}`);
    else if (num < spec.min) problems.push(`${spec.flag} must be at least ${spec.min}, got ${num}`);
    else model[key] = num;
  }
  let fleet: FleetConfig = parseFleetConfig({ ...SIM_FLEET_DEFAULTS });
  try {
    fleet = parseFleetConfig(fleetRaw, "flags", "flag");
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  if (problems.length > 0) throw new OptionError(problems.join("\n"));
  return {
    policy: policy as PolicyName,
    ingest: ingest as IngestMode,
    seed: seedNumber,
    fleet,
    model: model as unknown as ModelParameters,
  };
}

/** The target tracking target of a baseline run (percent). */
export function baselineTarget(options: SimOptions): number {
  if (options.policy === "packed") throw new Error("the packed policy has no target tracking");
  return options.model.targetCpuPercent ?? BASELINE_TARGET_CPU[options.policy];
}

/**
 * Streams a node carries at the threshold, from the CPU model (noise left out): what `packed` admits
 * on a node whose idle CPU and cost a stream it knows exactly (the core's own rule), the node size
 * of the lower bound and of the never-cut reference.
 */
export function streamsPerNodeAtThreshold(options: SimOptions): number {
  const { baseCpuPercent, streamCpuPercent } = options.model;
  const cap = options.fleet.maxStreamsPerNode ?? Number.POSITIVE_INFINITY;
  return Math.min(cap, streamCap(baseCpuPercent, streamCpuPercent, options.fleet));
}
