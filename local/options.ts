/**
 * Local mode's command line: the control plane's port, the scaler's period, secrets, the work dir,
 * and every fleet knob as its flag (from KNOBS, with local mode's quicker defaults).
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  ConfigError,
  type FleetConfig,
  KNOBS,
  LOCAL_FLEET_CONFIG,
  optionName,
  parseFleetConfig,
} from "../lambdas/core/config";
import { type CommandLine, type CommandSpec, type OptionSpec, UsageError, wholeNumber } from "../scripts/command-line";

/** The environment variable that may hold the viewer master secret. */
export const VIEWER_SECRET_ENV = "VIEWER_MASTER_SECRET";

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
    "viewer-secret-file": {
      value: "PATH",
      description: `file holding the viewer master secret (or set ${VIEWER_SECRET_ENV}): viewers then play with their key (npm run viewer-key); without it, every play is refused`,
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
  /** The viewer keys' master; undefined: viewer access off. */
  readonly viewerMaster?: string;
  readonly workDir: string;
}

/**
 * The viewer master secret: the file `--viewer-secret-file` names, else VIEWER_MASTER_SECRET;
 * never a flag's value, which any user sees in the process list. Undefined: viewer access off.
 * @throws UsageError when the file cannot be read or holds nothing
 */
export function viewerMasterSecret(line: CommandLine, env: NodeJS.ProcessEnv): string | undefined {
  const file = line.values["viewer-secret-file"];
  if (file === undefined) return env[VIEWER_SECRET_ENV] || undefined;
  let value: string;
  try {
    value = readFileSync(file, "utf8").trim();
  } catch (error) {
    throw new UsageError(`--viewer-secret-file: cannot read ${file} (${(error as Error).message})`);
  }
  if (value === "") throw new UsageError(`--viewer-secret-file: ${file} is empty`);
  return value;
}

/** Reads local mode's options from its checked command line. @throws UsageError naming each bad flag */
export function readLocalOptions(line: CommandLine, env: NodeJS.ProcessEnv = process.env): LocalOptions {
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
    viewerMaster: viewerMasterSecret(line, env),
    workDir: path.resolve(line.values["work-dir"] as string),
  };
}
