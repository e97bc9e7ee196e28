/**
 * The node agent (media-node/agent.py) as a real Python process against a stand-in shim: what it
 * reads from rtmp_stat (the fixture captured from the real server) and what it reports.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
// The captured page names its worker's pid; the agent measures that process's CPU, so it must exist here.
const STAT = readFileSync(path.join(ROOT, "test/fixtures/rtmp_stat-two-streams-one-viewer.xml"), "utf8").replace(
  "<pid>9000</pid>",
  `<pid>${process.pid}</pid>`,
);

interface Shim {
  url: string;
  reports: Record<string, unknown>[];
  server: Server;
}

/** The shim's token, in a file as the agent reads it. */
const SHIM_TOKEN = "agent-test-shim-token";
let shimTokenFile: string;

beforeAll(() => {
  shimTokenFile = path.join(mkdtempSync(path.join(os.tmpdir(), "rtmp-fleet-agent-")), "shim-token");
  writeFileSync(shimTokenFile, `${SHIM_TOKEN}\n`, { mode: 0o600 });
});

afterAll(() => rmSync(path.dirname(shimTokenFile), { recursive: true, force: true }));

/**
 * A shim that serves `/stat` and records heartbeats, answering with the given statuses; as the
 * node's shim, it refuses any path that does not start with its token.
 */
async function shim(statStatus = 200, heartbeatStatus = 200): Promise<Shim> {
  const reports: Record<string, unknown>[] = [];
  const server = createServer((request, response) => {
    if (!request.url?.startsWith(`/${SHIM_TOKEN}/`)) {
      response.writeHead(403).end();
      return;
    }
    if (request.url === `/${SHIM_TOKEN}/stat`) {
      response.writeHead(statStatus, { "content-type": "text/xml" });
      response.end(statStatus === 200 ? STAT : "");
      return;
    }
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on("end", () => {
      reports.push(JSON.parse(body));
      response.writeHead(heartbeatStatus, { "content-type": "application/json" });
      response.end(
        JSON.stringify(heartbeatStatus === 200 ? { state: "ACTIVE" } : { error: "unauthorized", message: "no" }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, reports, server };
}

function runAgent(shimUrl: string): Promise<{ code: number; stdout: string }> {
  const args = [
    ...["media-node/agent.py", "--once", "--shim", shimUrl, "--shim-token-file", shimTokenFile],
    ...["--rtmp-base-url", "rtmp://203.0.113.7:1935/live"],
  ];
  return new Promise((resolve) => {
    execFile("python3", args, { cwd: ROOT }, (error, stdout) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout });
    });
  });
}

describe("media-node/agent.py", () => {
  it("reports the publishing streams of rtmp_stat (not the viewer) with their viewers, their average count, and the CPU", async () => {
    const s = await shim();
    try {
      expect((await runAgent(s.url)).code).toBe(0);
      expect(s.reports).toHaveLength(1);
      expect(s.reports[0]).toEqual({
        rtmpBaseUrl: "rtmp://203.0.113.7:1935/live",
        ready: true,
        cpuPercent: expect.any(Number),
        streamsAverage: 2,
        streams: [
          { name: "cam1", clientId: "1", viewers: 1 },
          { name: "cam2", clientId: "3", viewers: 0 },
        ],
      });
    } finally {
      s.server.close();
    }
  });

  it("reports not ready, with no streams, when nginx does not answer", async () => {
    const s = await shim(502);
    try {
      expect((await runAgent(s.url)).code).toBe(0);
      expect(s.reports[0]).toMatchObject({ ready: false, streams: [] });
      expect(s.reports[0]).not.toHaveProperty("streamsAverage");
    } finally {
      s.server.close();
    }
  });

  it("exits non-zero when the control plane refuses the heartbeat", async () => {
    const s = await shim(200, 401);
    try {
      const { code, stdout } = await runAgent(s.url);
      expect(code).toBe(1);
      expect(stdout).toContain("HTTP 401");
    } finally {
      s.server.close();
    }
  });
});
