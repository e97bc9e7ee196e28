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
    expect(parse().cameraCidrs).toEqual(["0.0.0.0/0"]);
  });

  it("reads where keyless cameras may call from", () => {
    expect(parse("--camera-cidrs", "127.0.0.0/8, 192.168.1.0/24").cameraCidrs).toEqual([
      "127.0.0.0/8",
      "192.168.1.0/24",
    ]);
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
    [
      "a camera CIDR with host bits",
      ["--camera-cidrs=127.0.0.0/8,10.1.2.3/8"],
      "--camera-cidrs takes IPv4 CIDR blocks such as 192.168.1.0/24, got: 10.1.2.3/8",
    ],
  ])("refuses %s, with the usage", (_, argv, problem) => {
    expect(() => parse(...argv)).toThrow(`${problem}\nusage: npm run local -- [flags]`);
  });
});
