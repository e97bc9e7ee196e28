import { formatStatus, readStatusOptions, STATUS_COMMAND } from "../../local/status";
import { HELP, parseCommandLine } from "../../scripts/command-line";
import { secretFiles } from "../support/secret-files";

const parseWith = (env: NodeJS.ProcessEnv, ...argv: string[]) =>
  parseCommandLine(STATUS_COMMAND, argv, (line) => readStatusOptions(line, env));
const parse = (...argv: string[]) => parseWith({}, ...argv);
const USAGE = "usage: npm run status -- --url URL [--operator-token-file PATH]";

describe("npm run status's command line", () => {
  const files = secretFiles("status-token");

  it.each([["--help"], ["-h"]])("asks for the usage with %s", (flag) => {
    expect(parse(flag)).toBe(HELP);
  });

  it("reads --url URL without its final slash, and no token when none is given", () => {
    expect(parse("--url", "http://127.0.0.1:8787/")).toEqual({ base: "http://127.0.0.1:8787" });
  });

  it("takes the token from OPERATOR_TOKEN", () => {
    expect(parseWith({ OPERATOR_TOKEN: "from-env" }, "--url=https://api.example.com")).toEqual({
      base: "https://api.example.com",
      token: "from-env",
    });
  });

  it("takes the token from --operator-token-file, without its final newline", () => {
    expect(parse("--url=http://x", "--operator-token-file", files.write("token", "from-file\n"))).toEqual({
      base: "http://x",
      token: "from-file",
    });
  });

  it("refuses the old FLEET_OPERATOR_TOKEN, naming OPERATOR_TOKEN", () => {
    expect(() => parseWith({ FLEET_OPERATOR_TOKEN: "t" }, "--url=http://x")).toThrow(
      `FLEET_OPERATOR_TOKEN is now OPERATOR_TOKEN\n${USAGE}`,
    );
  });

  it.each([
    ["an unknown flag", ["--url", "http://x", "--tokn", "t"], "unknown option --tokn"],
    ["a flag without its value", ["--url"], "--url needs a value"],
    ["a missing --url", ["--operator-token-file", "t"], "--url URL is required"],
    [
      "the token on the command line, without repeating it",
      ["--url", "http://x", "--token=t0k3n"],
      "--token is no longer taken: the operator token no longer goes on the command line, where any user of the machine can read it (ps): set OPERATOR_TOKEN or give --operator-token-file PATH",
    ],
    [
      "a URL that is not http(s)",
      ["--url", "127.0.0.1:8787"],
      "--url must be an http:// or https:// URL, got '127.0.0.1:8787'",
    ],
    ["a stray argument", ["--url", "http://x", "nodes"], "unexpected argument 'nodes'"],
  ])("refuses %s, with the usage", (_, argv, problem) => {
    expect(() => parse(...argv)).toThrow(`${problem}\n${USAGE}`);
  });
});

describe("npm run status's report", () => {
  it("shows viewers per stream, per node and in all", () => {
    const node = {
      nodeId: "local-1",
      state: "ACTIVE",
      cpuPercent: 12,
      estimatedCpuPercent: 14,
      streams: 2,
      reservations: 0,
      viewers: 3,
      slotLimit: 40,
      full: false,
      protectedFromScaleIn: true,
      idleSince: null,
    };
    const streams = [
      { stream: "cam1", nodeId: "local-1", state: "LIVE", viewers: 3 },
      { stream: "cam2", nodeId: "local-1", state: "LIVE", viewers: 0 },
    ];
    const report = formatStatus([node], streams, []);
    expect(report).toMatch(/2 live streams, 0 reservations; 3 viewers/);
    expect(report).toMatch(/NODE\s+STATE\s+CPU\s+EST\.CPU\s+STREAMS\s+RESERVED\s+VIEWERS/);
    expect(report).toMatch(/local-1\s+ACTIVE\s+12\.0%\s+14\.0%\s+2\s+0\s+3\s/);
    expect(report).toMatch(/cam1\s+local-1\s+LIVE\s+3\n/);
    expect(report).toMatch(/cam2\s+local-1\s+LIVE\s+0\n/);
  });
});
