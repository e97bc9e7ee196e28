/**
 * Local mode's command line: the control plane's port, the scaler's period, secrets, the work dir,
 * and every fleet knob as its flag (from KNOBS, with local mode's quicker defaults).
 */
import os from "node:os";
import path from "node:path";
import { isIpv4Cidr } from "../lambdas/core/cidrs";
import {
  ConfigError,
  type FleetConfig,
  KNOBS,
  LOCAL_FLEET_CONFIG,
  optionName,
  parseFleetConfig,
} from "../lambdas/core/config";
import { type CommandLine, type CommandSpec, type OptionSpec, UsageError, wholeNumber } from "../scripts/command-line";

const knobOptions = KNOBS.map((knob, i): [string, OptionSpec] => {
  const dflt = LOCAL_FLEET_CONFIG[knob.key];
  return [
    optionName(knob.key),
    {
      value: "N",
      description: knob.description,
      default: dflt === undefined ? undefined : String(dflt),
      heading: i === 0 ? "The fleet's knobs (on AWS, cdk.json context 'fleet'; see README.md):" : undefined,
    },
  ];
});

/** Local mode's command. */
export const LOCAL_COMMAND: CommandSpec = {
  name: "local mode",
  synopsis: "npm run local -- [flags]",
  summary: "The whole control plane on this machine, with real nginx-rtmp nodes; Ctrl-C stops every one.",
  options: {
    port: { value: "N", description: "the control plane's port on 127.0.0.1 (0: any free port)", default: "8787" },
    "tick-seconds": { value: "N", description: "how often the scaler runs", default: "5" },
    "camera-key": {
      value: "SECRET",
      description: "camera master secret: cameras then need their key (npm run camera-key); none by default",
    },
    "operator-token": {
      value: "TOKEN",
      description: "bearer token for GET /nodes, /streams, /events; open by default",
    },
    "camera-cidrs": {
      value: "CIDRS",
      description: "with camera keys off, the IPv4 blocks cameras may call from, comma-separated",
      default: "0.0.0.0/0",
    },
    "work-dir": {
      value: "DIR",
      description: "where the nodes' files go",
      default: path.join(os.tmpdir(), "rtmp-fleet-local"),
    },
    ...Object.fromEntries(knobOptions),
  },
  renamed: { "cpu-threshold": "cpu-threshold-percent", "stream-cpu-cost": "stream-cpu-cost-percent" },
};

/** What local mode runs with. */
export interface LocalOptions {
  readonly port: number;
  readonly tickSeconds: number;
  readonly config: FleetConfig;
  readonly cameraMaster?: string;
  readonly operatorToken?: string;
  readonly cameraCidrs: readonly string[];
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

/** Reads local mode's options from its checked command line. @throws UsageError naming each bad flag */
export function readLocalOptions(line: CommandLine): LocalOptions {
  const raw = Object.fromEntries(KNOBS.map((knob) => [knob.key, line.values[optionName(knob.key)]]));
  let config: FleetConfig;
  try {
    config = parseFleetConfig(raw, "flags", "flag");
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new UsageError(error.problems.join("\n"));
  }
  return {
    port: wholeNumber(line, "port", 0, 65535),
    tickSeconds: wholeNumber(line, "tick-seconds", 1, 3600),
    config,
    cameraMaster: line.values["camera-key"] || undefined,
    operatorToken: line.values["operator-token"] || undefined,
    cameraCidrs: cidrList(line.values["camera-cidrs"] as string),
    workDir: path.resolve(line.values["work-dir"] as string),
  };
}
