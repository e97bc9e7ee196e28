import { spawnSync } from "node:child_process";
import path from "node:path";
import { LOCAL_FLEET_CONFIG } from "../../lambdas/core/config";
import { LOCAL_COMMAND, type LocalOptions, readLocalOptions } from "../../local/options";
import { HELP, parseCommandLine } from "../../scripts/command-line";
import { secretFiles } from "../support/secret-files";

const ROOT = path.resolve(__dirname, "../..");

/** Parses with this environment (none of the machine's own). */
const parseWith = (env: NodeJS.ProcessEnv, ...argv: string[]) =>
  parseCommandLine(LOCAL_COMMAND, argv, (line) => readLocalOptions(line, env)) as LocalOptions;
const parse = (...argv: string[]) => parseWith({}, ...argv);

describe("npm run local's command line", () => {
  it.each([["--help"], ["-h"]])("asks for the usage with %s", (flag) => {
    expect(parseCommandLine(LOCAL_COMMAND, ["--port", "1", flag], readLocalOptions)).toBe(HELP);
  });

  it("runs with local mode's defaults when given no flag", () => {
    expect(parse()).toMatchObject({ port: 8787, ingestPort: 1935, tickSeconds: 5, config: LOCAL_FLEET_CONFIG });
    expect(parse().cameraMaster).toBeUndefined();
    expect(parse().operatorToken).toBeUndefined();
    expect(parse().cameraCidrs).toEqual(["0.0.0.0/0"]);
  });

  it("reads where keyless cameras may call from", () => {
    expect(parse("--camera-cidrs", "127.0.0.0/8, 192.168.1.0/24").cameraCidrs).toEqual([
      "127.0.0.0/8",
      "192.168.1.0/24",
    ]);
  });

  it.each([
    [["--ingest-port", "19350"], 19350],
    [["--ingest-port=0"], 0],
    [["--port=0", "--ingest-port=0"], 0],
  ])("reads the fixed ingest address's port from %j", (argv, ingestPort) => {
    expect(parse(...argv).ingestPort).toBe(ingestPort);
  });

  it("reads every knob by its flag, as --flag value or --flag=value", () => {
    const options = parse(
      "--cpu-threshold-percent=70",
      "--stream-cpu-cost-percent",
      "3",
      "--max-streams-per-node=2",
      "--heartbeat-seconds",
      "2",
      "--log-level=debug",
      "--port=0",
      "--work-dir=relative/dir",
    );
    expect(options.config).toEqual({
      ...LOCAL_FLEET_CONFIG,
      cpuThresholdPercent: 70,
      streamCpuCostPercent: 3,
      maxStreamsPerNode: 2,
      heartbeatSeconds: 2,
      logLevel: "debug",
    });
    expect(options).toMatchObject({ port: 0, workDir: path.resolve("relative/dir") });
  });

  it.each([
    ["an unknown flag", ["--bufer-nodes", "1"], "unknown option --bufer-nodes"],
    ["a flag without its value", ["--max-nodes"], "--max-nodes needs a value"],
    [
      "a bad knob, naming its flag",
      ["--buffer-nodes", "-1"],
      "--buffer-nodes must be at least 0 and at most 1000, got -1",
    ],
    [
      "a log level it does not know",
      ["--log-level", "loud"],
      '--log-level must be one of debug, info, warn, error, got "loud"',
    ],
    ["knobs that disagree", ["--min-nodes=6", "--max-nodes=3"], "--max-nodes (3) must be at least --min-nodes (6)"],
    ["a bad port", ["--port", "http"], "--port must be a whole number from 0 to 65535, got 'http'"],
    [
      "a bad ingest port",
      ["--ingest-port", "65536"],
      "--ingest-port must be a whole number from 0 to 65535, got '65536'",
    ],
    [
      "an ingest port that is the control plane's",
      ["--port=9000", "--ingest-port=9000"],
      "--ingest-port must differ from --port (both are 9000)",
    ],
    [
      "a warm pool, which only AWS has",
      ["--warm-pool-size=2"],
      "--warm-pool-size is an AWS setting: local mode has no warm pool (its nodes start in seconds), got 2",
    ],
    ["the old --cpu-threshold", ["--cpu-threshold", "70"], "--cpu-threshold is now --cpu-threshold-percent"],
    ["the old --stream-cpu-cost", ["--stream-cpu-cost=3"], "--stream-cpu-cost is now --stream-cpu-cost-percent"],
    ["a stray argument", ["70"], "unexpected argument '70'"],
    [
      "a camera CIDR with host bits",
      ["--camera-cidrs=127.0.0.0/8,10.1.2.3/8"],
      "--camera-cidrs takes IPv4 CIDR blocks such as 192.168.1.0/24, got: 10.1.2.3/8",
    ],
  ])("refuses %s, with the usage", (_, argv, problem) => {
    expect(() => parse(...argv)).toThrow(`${problem}\nusage: npm run local -- [flags]`);
  });
});

describe("local mode's secrets: from the environment or a file, never the command line", () => {
  const { dir, write: fileWith } = secretFiles("local-secrets");

  it("reads its secrets from CAMERA_MASTER_SECRET, OPERATOR_TOKEN and VIEWER_MASTER_SECRET", () => {
    expect(
      parseWith({ CAMERA_MASTER_SECRET: "c-master", OPERATOR_TOKEN: "op-token", VIEWER_MASTER_SECRET: "v-master" }),
    ).toMatchObject({ cameraMaster: "c-master", operatorToken: "op-token", viewerMaster: "v-master" });
  });

  it("runs with viewer access off (every play refused) when given no viewer master secret", () => {
    expect(parseWith({}).viewerMaster).toBeUndefined();
  });

  it("reads them from --camera-secret-file, --operator-token-file and --viewer-secret-file, without the final newline", () => {
    const options = parse(
      `--camera-secret-file=${fileWith("camera", "c-master\n")}`,
      "--operator-token-file",
      fileWith("operator", "op-token\n"),
      "--viewer-secret-file",
      fileWith("viewer", "v-master\n"),
    );
    expect(options).toMatchObject({ cameraMaster: "c-master", operatorToken: "op-token", viewerMaster: "v-master" });
  });

  it.each([
    [
      "the camera master secret in both places",
      { CAMERA_MASTER_SECRET: "a" },
      ["--camera-secret-file", "camera"],
      "the camera master secret is given twice, in CAMERA_MASTER_SECRET and in --camera-secret-file: keep one",
    ],
    [
      "the operator token in both places",
      { OPERATOR_TOKEN: "a" },
      ["--operator-token-file", "operator"],
      "the operator token is given twice, in OPERATOR_TOKEN and in --operator-token-file: keep one",
    ],
    [
      "the viewer master secret in both places",
      { VIEWER_MASTER_SECRET: "a" },
      ["--viewer-secret-file", "camera"],
      "the viewer master secret is given twice, in VIEWER_MASTER_SECRET and in --viewer-secret-file: keep one",
    ],
    [
      "a missing file, naming it",
      {},
      ["--operator-token-file", "absent"],
      `--operator-token-file: cannot read '${path.join(dir, "absent")}': no such file`,
    ],
    [
      "an empty file, naming it",
      {},
      ["--camera-secret-file", "empty"],
      `--camera-secret-file: '${path.join(dir, "empty")}' is empty`,
    ],
  ])("refuses %s", (_, env, [flag = "", name = ""], problem) => {
    fileWith("camera", "c-master");
    fileWith("operator", "op-token");
    fileWith("empty", "");
    expect(() => parseWith(env, flag, path.join(dir, name))).toThrow(`${problem}\nusage: npm run local -- [flags]`);
  });

  it.each([
    ["--camera-key", "camera master secret", "CAMERA_MASTER_SECRET", "--camera-secret-file"],
    ["--operator-token", "operator token", "OPERATOR_TOKEN", "--operator-token-file"],
  ])("refuses the old %s, saying where the secret goes now and why, without repeating it", (flag, what, env, file) => {
    const problem = `${flag} is no longer taken: the ${what} no longer goes on the command line, where any user of the machine can read it (ps): set ${env} or give ${file} PATH\nusage:`;
    for (const argv of [[flag, "s3cret-on-argv"], [`${flag}=s3cret-on-argv`]]) {
      expect(() => parse(...argv)).toThrow(problem);
      expect(() => parse(...argv)).not.toThrow("s3cret-on-argv");
    }
  });

  it("exits 2 before starting anything when given the old --camera-key, printing no secret", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "local/main.ts", "--camera-key", "s3cret-on-argv"], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("local mode: --camera-key is no longer taken:");
    expect(`${run.stdout}${run.stderr}`).not.toContain("s3cret-on-argv");
  });
});
