import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { formatStatus, readStatusOptions, STATUS_COMMAND } from "../../local/status";
import { HELP, parseCommandLine } from "../../scripts/command-line";
import { secretFiles } from "../support/secret-files";

const parseWith = (env: NodeJS.ProcessEnv, ...argv: string[]) =>
  parseCommandLine(STATUS_COMMAND, argv, (line) => readStatusOptions(line, env));
const parse = (...argv: string[]) => parseWith({}, ...argv);
const USAGE = "usage: npm run status -- --url URL [--operator-token-file PATH] [--json] [--watch SECONDS]";

describe("npm run status's command line", () => {
  const files = secretFiles("status-token");

  it.each([["--help"], ["-h"]])("asks for the usage with %s", (flag) => {
    expect(parse(flag)).toBe(HELP);
  });

  it("reads --url URL without its final slash, and no token when none is given", () => {
    expect(parse("--url", "http://127.0.0.1:8787/")).toEqual({ base: "http://127.0.0.1:8787", json: false });
  });

  it("takes the token from OPERATOR_TOKEN", () => {
    expect(parseWith({ OPERATOR_TOKEN: "from-env" }, "--url=https://api.example.com")).toEqual({
      base: "https://api.example.com",
      token: "from-env",
      json: false,
    });
  });

  it("takes the token from --operator-token-file, without its final newline", () => {
    expect(parse("--url=http://x", "--operator-token-file", files.write("token", "from-file\n"))).toEqual({
      base: "http://x",
      token: "from-file",
      json: false,
    });
  });

  it("reads --json and --watch SECONDS", () => {
    expect(parse("--url=http://x", "--json", "--watch", "2")).toEqual({
      base: "http://x",
      json: true,
      watchSeconds: 2,
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
    [
      "a watch period of 0",
      ["--url", "http://x", "--watch", "0"],
      "--watch must be a whole number from 1 to 3600, got '0'",
    ],
    [
      "a watch period in minutes",
      ["--url", "http://x", "--watch=1m"],
      "--watch must be a whole number from 1 to 3600, got '1m'",
    ],
    ["a value given to --json", ["--url", "http://x", "--json=yes"], "--json takes no value"],
  ])("refuses %s, with the usage", (_, argv, problem) => {
    expect(() => parse(...argv)).toThrow(`${problem}\n${USAGE}`);
  });
});

const NODE = {
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
const STREAMS = [
  { stream: "cam1", nodeId: "local-1", state: "LIVE", viewers: 3 },
  { stream: "cam2", nodeId: "local-1", state: "LIVE", viewers: 0 },
];
const stripAnsi = (text: string) => text.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "");

const INGEST = { address: "rtmp://127.0.0.1:1935/live", target: "local-1" };

describe("npm run status's report", () => {
  it("shows viewers per stream, per node and in all", () => {
    const report = formatStatus([NODE], STREAMS, []);
    expect(report).toMatch(/2 live streams, 0 reservations; 3 viewers/);
    expect(report).toMatch(/NODE\s+STATE\s+CPU\s+EST\.CPU\s+STREAMS\s+RESERVED\s+VIEWERS/);
    expect(report).toMatch(/local-1\s+ACTIVE\s+12\.0%\s+14\.0%\s+2\s+0\s+3\s/);
    expect(report).toMatch(/cam1\s+local-1\s+LIVE\s+3\n/);
    expect(report).toMatch(/cam2\s+local-1\s+LIVE\s+0\n/);
    expect(report).not.toContain("\x1b[");
  });

  it.each([
    [INGEST, "fixed ingest address: rtmp://127.0.0.1:1935/live/<stream> -> local-1\n"],
    [
      { ...INGEST, target: null },
      "fixed ingest address: rtmp://127.0.0.1:1935/live/<stream> -> nowhere (no node has room)\n",
    ],
  ])("shows local mode's fixed ingest address %j and where it sends new cameras", (ingest, line) => {
    expect(formatStatus([NODE], STREAMS, [], false, ingest)).toContain(line);
  });

  it("has no ingest line for a control plane without one (a deployed API)", () => {
    expect(formatStatus([NODE], STREAMS, [])).not.toContain("ingest");
  });

  it("colours the states when asked (on a terminal), keeping every column where it was", () => {
    const nodes = [NODE, { ...NODE, nodeId: "local-2", state: "SILENT" }];
    const coloured = formatStatus(nodes, STREAMS, [], true);
    expect(coloured).toContain("\x1b[32mACTIVE");
    expect(coloured).toContain("\x1b[31mSILENT");
    expect(coloured).toContain("\x1b[32mLIVE");
    expect(stripAnsi(coloured)).toBe(
      formatStatus([NODE, { ...NODE, nodeId: "local-2", state: "SILENT" }], STREAMS, []),
    );
  });
});

describe("npm run status -- --watch", () => {
  let server: Server;
  let base = "";
  let requests = 0;

  beforeAll(async () => {
    // A stand-in local mode whose fleet grows by a stream at each refresh (four views a refresh).
    server = createServer((request, response) => {
      requests++;
      const round = Math.floor((requests - 1) / 4);
      const views: Record<string, unknown> = {
        "/nodes": { nodes: [NODE] },
        "/streams": { streams: STREAMS.slice(0, 1 + (round % 2)) },
        "/events": { events: [] },
        "/local/nodes": { nodes: [], ingest: INGEST },
      };
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(views[request.url ?? ""] ?? {}));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("prints one JSON report a refresh, with what changed, until stopped", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "local/status.ts", "--url", base, "--json", "--watch", "1"],
      {
        cwd: path.join(__dirname, "..", ".."),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const lines: string[] = [];
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no two reports in 20 s: ${lines} ${stderr}`)), 20_000);
      child.stdout.on("data", (chunk: Buffer) => {
        lines.push(...chunk.toString().split("\n").filter(Boolean));
        if (lines.length >= 2) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill("SIGINT");
    const [first, second] = lines.map(
      (line) => JSON.parse(line) as { streams: unknown[]; nodes: unknown[]; ingest: unknown },
    );
    expect(first?.nodes).toHaveLength(1);
    expect(first?.ingest).toEqual(INGEST);
    expect([first?.streams.length, second?.streams.length]).toEqual([1, 2]);
    expect(stderr).toBe("");
  }, 30_000);
});
