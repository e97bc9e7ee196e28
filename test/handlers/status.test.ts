/**
 * The status Lambda: `GET /` answers the page, whole (its chart library inlined) and without any
 * data of the fleet's, to anyone; `GET /status` answers the summary the page draws, to the operator.
 */
import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import type { ApiDeps } from "../../lambdas/handlers/api";
import { createStatusHandler } from "../../lambdas/handlers/status";
import { CONTEXT, httpEvent, makeConfig, makeDeps, makeNode, T0 } from "../support/builders";

const TOKEN = "operator-token-for-the-status-tests";

async function statusHandler(extra: Partial<ApiDeps> = {}) {
  const registry = new MemoryRegistry();
  await registry.createNode(
    makeNode({
      nodeId: "node-late-q7",
      launchedAt: T0 + 5,
      cpu: { percent: 70, streams: 1, at: T0 },
      streams: { "lobby-cam-q7": { state: "LIVE", since: T0, clientId: "1", viewers: 2 } },
    }),
  );
  await registry.createNode(makeNode({ nodeId: "node-early-q7" }));
  await registry.appendEvents([{ at: T0, kind: "scale-out", message: "desired capacity 1 → 2" }]);
  const deps = makeDeps(registry, { config: makeConfig({ cpuThresholdPercent: 65 }), operatorToken: TOKEN });
  return createStatusHandler({ ...deps, ...extra });
}

describe("GET / (the status page)", () => {
  it("answers the page to anyone, with uPlot's code and style inlined and nothing loaded from elsewhere", async () => {
    const handler = await statusHandler();
    const result = await handler(httpEvent({ path: "/" }), CONTEXT);
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    const html = result.body as string;
    expect(html).toContain("<title>rtmp-fleet status</title>");
    expect(html).toMatch(/<script>[^<]*uPlot/);
    expect(html).toMatch(/<style>[^<]*\.uplot/);
    expect(html).not.toContain("<!-- chart library -->");
    expect(html).not.toMatch(/<script[^>]*\ssrc=|<link[^>]*\shref=/);
  });

  it("holds no data of the fleet's: no node, stream, event or threshold", async () => {
    const html = (await (await statusHandler())(httpEvent({ path: "/" }), CONTEXT)).body as string;
    for (const data of ["node-early-q7", "node-late-q7", "lobby-cam-q7", "desired capacity", TOKEN])
      expect([data, html.includes(data)]).toEqual([data, false]);
  });

  it("refuses an operator token put in its URL, where the history and logs would keep it", async () => {
    const result = await (await statusHandler())(httpEvent({ path: "/", query: `token=${TOKEN}` }), CONTEXT);
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body as string)).toMatchObject({ error: "token_in_url" });
  });
});

describe("GET /status (the page's summary)", () => {
  it("needs the operator token", async () => {
    const handler = await statusHandler();
    for (const headers of [{}, { authorization: "Bearer wrong" }] as Record<string, string>[]) {
      expect((await handler(httpEvent({ path: "/status", headers }), CONTEXT)).statusCode).toBe(401);
    }
  });

  it("answers the nodes in fill order, the streams, the events and the configured CPU threshold in one body", async () => {
    const handler = await statusHandler();
    const result = await handler(
      httpEvent({ path: "/status", headers: { authorization: `Bearer ${TOKEN}` } }),
      CONTEXT,
    );
    expect(result.statusCode).toBe(200);
    const body = JSON.parse(result.body as string);
    expect(body).toMatchObject({
      cpuThresholdPercent: 65,
      nodes: [
        { nodeId: "node-early-q7", streams: 0 },
        { nodeId: "node-late-q7", streams: 1, viewers: 2, cpuPercent: 70 },
      ],
      silenceBreaker: { open: false },
      streams: [{ stream: "lobby-cam-q7", nodeId: "node-late-q7", state: "LIVE", viewers: 2 }],
      events: [{ kind: "scale-out", message: "desired capacity 1 → 2", at: new Date(T0).toISOString() }],
    });
  });

  it.each([
    ["no fixed ingest address: no ingest", {}, undefined],
    [
      "a fixed ingest address: it, and the first node in fill order it leads to",
      { ingestAddress: { host: "ingest.example.net", tls: false } },
      { address: "rtmp://ingest.example.net:1935/live", target: "node-early-q7" },
    ],
  ])("%s", async (_, extra, ingest) => {
    const handler = await statusHandler(extra);
    const result = await handler(
      httpEvent({ path: "/status", headers: { authorization: `Bearer ${TOKEN}` } }),
      CONTEXT,
    );
    expect(JSON.parse(result.body as string).ingest).toEqual(ingest);
  });
});
