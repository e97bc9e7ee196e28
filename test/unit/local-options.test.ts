import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { LOCAL_FLEET_CONFIG } from "../../lambdas/core/config";
import { LOCAL_COMMAND, type LocalOptions, readLocalOptions } from "../../local/options";
import { HELP, parseCommandLine } from "../../scripts/command-line";

const parse = (...argv: string[]) => parseCommandLine(LOCAL_COMMAND, argv, readLocalOptions) as LocalOptions;

describe("npm run local's command line", () => {
  it.each([["--help"], ["-h"]])("asks for the usage with %s", (flag) => {
    expect(parseCommandLine(LOCAL_COMMAND, ["--port", "1", flag], readLocalOptions)).toBe(HELP);
  });

  it("runs with local mode's defaults when given no flag", () => {
    expect(parse()).toMatchObject({ port: 8787, tickSeconds: 5, config: LOCAL_FLEET_CONFIG });
    expect(parse().cameraMaster).toBeUndefined();
    expect(parse().operatorToken).toBeUndefined();
  });

  it("reads every knob by its flag, as --flag value or --flag=value", () => {
    const options = parse(
      "--cpu-threshold-percent=70",
      "--stream-cpu-cost-percent",
      "3",
      "--max-streams-per-node=2",
      "--heartbeat-seconds",
      "2",
      "--port=0",
      "--work-dir=relative/dir",
      "--camera-key=s3cret",
    );
    expect(options.config).toEqual({
      ...LOCAL_FLEET_CONFIG,
      cpuThresholdPercent: 70,
      streamCpuCostPercent: 3,
      maxStreamsPerNode: 2,
      heartbeatSeconds: 2,
    });
    expect(options).toMatchObject({ port: 0, workDir: path.resolve("relative/dir"), cameraMaster: "s3cret" });
  });

  it.each([
    ["an unknown flag", ["--bufer-nodes", "1"], "unknown option --bufer-nodes"],
    ["a flag without its value", ["--max-nodes"], "--max-nodes needs a value"],
    [
      "a bad knob, naming its flag",
      ["--buffer-nodes", "-1"],
      "--buffer-nodes must be at least 0 and at most 1000, got -1",
    ],
    ["knobs that disagree", ["--min-nodes=6", "--max-nodes=3"], "--max-nodes (3) must be at least --min-nodes (6)"],
    ["a bad port", ["--port", "http"], "--port must be a whole number from 0 to 65535, got 'http'"],
    ["the old --cpu-threshold", ["--cpu-threshold", "70"], "--cpu-threshold is now --cpu-threshold-percent"],
    ["the old --stream-cpu-cost", ["--stream-cpu-cost=3"], "--stream-cpu-cost is now --stream-cpu-cost-percent"],
    ["a stray argument", ["70"], "unexpected argument '70'"],
  ])("refuses %s, with the usage", (_, argv, problem) => {
    expect(() => parse(...argv)).toThrow(`${problem}\nusage: npm run local -- [flags]`);
  });
});

describe("local mode's viewer master secret: from the environment or a file, never a flag's value", () => {
  const withEnv = (env: NodeJS.ProcessEnv, ...argv: string[]) =>
    parseCommandLine(LOCAL_COMMAND, argv, (line) => readLocalOptions(line, env)) as LocalOptions;
  const dir = mkdtempSync(path.join(os.tmpdir(), "viewer-secret-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each<[string, NodeJS.ProcessEnv, () => string[], string | undefined]>([
    ["off without either: every play is refused", {}, () => [], undefined],
    ["VIEWER_MASTER_SECRET", { VIEWER_MASTER_SECRET: "from-env" }, () => [], "from-env"],
    [
      "the file --viewer-secret-file names, its last newline dropped, over the environment",
      { VIEWER_MASTER_SECRET: "from-env" },
      () => {
        writeFileSync(path.join(dir, "secret"), "from-file\n");
        return ["--viewer-secret-file", path.join(dir, "secret")];
      },
      "from-file",
    ],
  ])("reads %s", (_, env, argv, expected) => {
    expect(withEnv(env, ...argv()).viewerMaster).toBe(expected);
  });

  it.each<[string, () => string, string]>([
    ["a file that cannot be read", () => path.join(dir, "missing"), "--viewer-secret-file: cannot read"],
    [
      "an empty file",
      () => {
        writeFileSync(path.join(dir, "empty"), "\n");
        return path.join(dir, "empty");
      },
      "is empty",
    ],
  ])("refuses %s, naming the flag", (_, file, problem) => {
    expect(() => withEnv({}, "--viewer-secret-file", file())).toThrow(problem);
  });
});
