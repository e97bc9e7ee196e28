import { formatStatus, readStatusOptions, STATUS_COMMAND } from "../../local/status";
import { HELP, parseCommandLine } from "../../scripts/command-line";

const parse = (...argv: string[]) => parseCommandLine(STATUS_COMMAND, argv, (line) => readStatusOptions(line, {}));

describe("npm run status's command line", () => {
  it.each([["--help"], ["-h"]])("asks for the usage with %s", (flag) => {
    expect(parse(flag)).toBe(HELP);
  });

  it("reads --url URL and --token=TOKEN, without the URL's final slash", () => {
    expect(parse("--url", "http://127.0.0.1:8787/", "--token=t0k")).toEqual({
      base: "http://127.0.0.1:8787",
      token: "t0k",
    });
  });

  it("takes the token from FLEET_OPERATOR_TOKEN when no --token is given", () => {
    const line = parseCommandLine(STATUS_COMMAND, ["--url=https://api.example.com"], (l) =>
      readStatusOptions(l, { FLEET_OPERATOR_TOKEN: "from-env" }),
    );
    expect(line).toEqual({ base: "https://api.example.com", token: "from-env" });
  });

  it.each([
    ["an unknown flag", ["--url", "http://x", "--tokn", "t"], "unknown option --tokn"],
    ["a flag without its value", ["--url"], "--url needs a value"],
    ["a missing --url", ["--token", "t"], "--url URL is required"],
    [
      "a URL that is not http(s)",
      ["--url", "127.0.0.1:8787"],
      "--url must be an http:// or https:// URL, got '127.0.0.1:8787'",
    ],
    ["a stray argument", ["--url", "http://x", "nodes"], "unexpected argument 'nodes'"],
  ])("refuses %s, with the usage", (_, argv, problem) => {
    expect(() => parse(...argv)).toThrow(`${problem}\nusage: npm run status -- --url URL [--token TOKEN]`);
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
