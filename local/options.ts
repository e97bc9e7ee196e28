/**
 * Local mode's command line: the control plane's port, the scaler's period, the work dir, every
 * fleet knob as its flag (from KNOBS, with local mode's quicker defaults), and the files of its
 * secrets (which never go on the command line: see readSecret).
 */
import os from "node:os";
import path from "node:path";
import { isIpv4Cidr } from "../lambdas/core/cidrs";
import {
  ConfigError,
  type FleetConfig,
  isChoiceKnob,
  KNOBS,
  LOCAL_FLEET_CONFIG,
  optionName,
  parseFleetConfig,
} from "../lambdas/core/config";
import {
  CAMERA_MASTER_SECRET,
  type CommandLine,
  type CommandSpec,
  OPERATOR_TOKEN,
  type OptionSpec,
  readSecret,
  secretFileOption,
  secretNotOnCommandLine,
  UsageError,
  VIEWER_MASTER_SECRET,
  wholeNumber,
} from "../scripts/command-line";

const knobOptions = KNOBS.map((knob, i): [string, OptionSpec] => {
  const dflt = LOCAL_FLEET_CONFIG[knob.key];
  return [
    optionName(knob.key),
    {
      value: isChoiceKnob(knob) ? knob.choices.join("|") : "N",
      description: knob.description,
      default: dflt === undefined ? undefined : String(dflt),
      heading: i === 0 ? "The fleet's knobs (on AWS, cdk.json context 'fleet'; see README.md):" : undefined,
    },
  ];
});

/** The secrets local mode takes, each from its environment variable or its file. */
export const LOCAL_SECRETS = [CAMERA_MASTER_SECRET, OPERATOR_TOKEN, VIEWER_MASTER_SECRET] as const;

/** Local mode's command. */
export const LOCAL_COMMAND: CommandSpec = {
  name: "local mode",
  synopsis: "npm run local -- [flags]",
  summary: "The whole control plane on this machine, with real nginx-rtmp nodes; Ctrl-C stops every one.",
  options: {
    port: { value: "N", description: "the control plane's port on 127.0.0.1 (0: any free port)", default: "8787" },
    "ingest-port": {
      value: "N",
      description:
        "the fixed ingest address's port on 127.0.0.1, where cameras publish without resolving (0: any free port)",
      default: "1935",
    },
    "tick-seconds": { value: "N", description: "how often the scaler runs", default: "5" },
    [CAMERA_MASTER_SECRET.fileOption]: secretFileOption(
      CAMERA_MASTER_SECRET,
      "cameras then need their key (npm run camera-key); none by default",
    ),
    [OPERATOR_TOKEN.fileOption]: secretFileOption(
      OPERATOR_TOKEN,
      "the operator's routes (/nodes, /streams, /events, /local/*) then need it as a bearer token, which the status page asks for; open by default",
    ),
    "camera-cidrs": {
      value: "CIDRS",
      description: "with camera keys off, the IPv4 blocks cameras may call from, comma-separated",
      default: "0.0.0.0/0",
    },
    [VIEWER_MASTER_SECRET.fileOption]: secretFileOption(
      VIEWER_MASTER_SECRET,
      "viewers then play with their key (npm run viewer-key); without it, every play is refused",
    ),
    "work-dir": {
      value: "DIR",
      description: "where the nodes' files go",
      default: path.join(os.tmpdir(), "rtmp-fleet-local"),
    },
    ...Object.fromEntries(knobOptions),
  },
  renamed: { "cpu-threshold": "cpu-threshold-percent", "stream-cpu-cost": "stream-cpu-cost-percent" },
  withdrawn: {
    "camera-key": secretNotOnCommandLine(CAMERA_MASTER_SECRET),
    "operator-token": secretNotOnCommandLine(OPERATOR_TOKEN),
  },
};

/** What local mode runs with. */
export interface LocalOptions {
  readonly port: number;
  /** The fixed ingest address's port (0: any free one). */
  readonly ingestPort: number;
  readonly tickSeconds: number;
  readonly config: FleetConfig;
  readonly cameraMaster?: string;
  readonly operatorToken?: string;
  readonly cameraCidrs: readonly string[];
  /** The viewer keys' master; undefined: viewer access off. */
  readonly viewerMaster?: string;
  readonly workDir: string;
}

/** `--camera-cidrs`: IPv4 CIDR blocks, comma-separated. @throws UsageError naming the bad ones */
function cidrList(value: string): readonly string[] {
  const cidrs = value.split(",").map((cidr) => cidr.trim());
  const bad = cidrs.filter((cidr) => !isIpv4Cidr(cidr));
  if (bad.length > 0) {
    throw new UsageError(`--camera-cidrs takes IPv4 CIDR blocks such as 192.168.1.0/24, got: ${bad.join(", ")}`);
  }
  return cidrs;
}

/**
 * Reads local mode's options from its checked command line, and its secrets from `env` or their files.
 * @throws UsageError naming each bad flag
 */
export function readLocalOptions(line: CommandLine, env: NodeJS.ProcessEnv = process.env): LocalOptions {
  const raw = Object.fromEntries(KNOBS.map((knob) => [knob.key, line.values[optionName(knob.key)]]));
  let config: FleetConfig;
  try {
    config = parseFleetConfig(raw, "flags", "flag");
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new UsageError(error.problems.join("\n"));
  }
  if (config.warmPoolSize > 0) {
    // Accepting it would promise shorter boots that nothing here gives (`npm run sim` models a pool).
    throw new UsageError(
      `--warm-pool-size is an AWS setting: local mode has no warm pool (its nodes start in seconds), got ${config.warmPoolSize}`,
    );
  }
  const port = wholeNumber(line, "port", 0, 65535);
  const ingestPort = wholeNumber(line, "ingest-port", 0, 65535);
  if (ingestPort !== 0 && ingestPort === port) {
    throw new UsageError(`--ingest-port must differ from --port (both are ${port})`);
  }
  return {
    port,
    ingestPort,
    tickSeconds: wholeNumber(line, "tick-seconds", 1, 3600),
    config,
    cameraMaster: readSecret(line, CAMERA_MASTER_SECRET, env),
    operatorToken: readSecret(line, OPERATOR_TOKEN, env),
    viewerMaster: readSecret(line, VIEWER_MASTER_SECRET, env),
    cameraCidrs: cidrList(line.values["camera-cidrs"] as string),
    workDir: path.resolve(line.values["work-dir"] as string),
  };
}
