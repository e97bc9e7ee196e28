import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import { idleSince } from "../../lambdas/core/scaling-plan";
import { createNodesHandler, createStreamsHandler } from "../../lambdas/handlers/views";
import { CONTEXT, httpEvent, makeDeps, makeNode, T0, TestClock } from "../support/builders";

async function setup(operatorToken?: string) {
  const registry = new MemoryRegistry();
  await registry.createNode(
    makeNode({
      nodeId: "n2",
      launchedAt: T0 + 5,
      cpu: { percent: 78, streams: 1, at: T0 },
      streams: {
        cam1: { state: "LIVE", since: T0, clientId: "1", viewers: 3 },
        cam2: { state: "RESERVED", since: T0, expiresAt: T0 + 60_000 },
        old: { state: "RESERVED", since: T0 - 120_000, expiresAt: T0 - 60_000 },
      },
    }),
  );
  await registry.createNode(makeNode({ nodeId: "n1", state: "PENDING" }));
  const deps = makeDeps(registry, { operatorToken });
  return { nodes: createNodesHandler(deps), streams: createStreamsHandler(deps) };
}

describe("GET /nodes and GET /streams", () => {
  it("lists nodes in fill order with their load, ignoring expired reservations", async () => {
    const { nodes } = await setup();
    const result = await nodes(httpEvent({ path: "/nodes" }), CONTEXT);
    expect(result.statusCode).toBe(200);
    const body = JSON.parse(result.body as string);
    expect(body.nodes.map((n: { nodeId: string }) => n.nodeId)).toEqual(["n1", "n2"]);
    expect(body.nodes[1]).toMatchObject({
      state: "ACTIVE",
      streams: 1,
      reservations: 1,
      viewers: 3,
      cpuPercent: 78,
      estimatedCpuPercent: 80,
      slotLimit: 2,
      full: true,
      idleSince: null,
    });
    expect(body.nodes[0]).toMatchObject({ state: "PENDING", idleSince: new Date(T0).toISOString(), cpuPercent: null });
  });

  it("reports a node idle since when the scaler counts it: its last state change or expired reservation", async () => {
    const registry = new MemoryRegistry();
    const taken = makeNode({ nodeId: "undrained", streamsChangedAt: T0, stateChangedAt: T0 + 300_000 });
    const expired = makeNode({
      nodeId: "expired",
      streams: { r: { state: "RESERVED", since: T0, expiresAt: T0 + 60_000 } },
    });
    for (const node of [taken, expired]) await registry.createNode(node);
    const clock = new TestClock(T0 + 600_000);
    const result = await createNodesHandler(makeDeps(registry, { clock }))(httpEvent({ path: "/nodes" }), CONTEXT);
    const body = JSON.parse(result.body as string) as { nodes: { nodeId: string; idleSince: string }[] };
    expect(body.nodes).toEqual([
      expect.objectContaining({ nodeId: "expired", idleSince: new Date(T0 + 60_000).toISOString() }),
      expect.objectContaining({ nodeId: "undrained", idleSince: new Date(T0 + 300_000).toISOString() }),
    ]);
    // The scaler's own definition, to the millisecond.
    const scalers = [expired, taken].map((node) => new Date(idleSince(node, clock.ms) as number).toISOString());
    expect(body.nodes.map((n) => n.idleSince)).toEqual(scalers);
  });

  it("lists held streams with their viewers", async () => {
    const { streams } = await setup();
    const body = JSON.parse((await streams(httpEvent({ path: "/streams" }), CONTEXT)).body as string);
    expect(body.streams).toEqual([
      { stream: "cam1", nodeId: "n2", state: "LIVE", since: new Date(T0).toISOString(), expiresAt: null, viewers: 3 },
      {
        stream: "cam2",
        nodeId: "n2",
        state: "RESERVED",
        since: new Date(T0).toISOString(),
        expiresAt: new Date(T0 + 60_000).toISOString(),
        viewers: 0,
      },
    ]);
  });

  it.each([
    ["no Authorization header", {}],
    ["a wrong token", { authorization: "Bearer nope" }],
    ["a token without the Bearer scheme", { authorization: "operator-token" }],
  ])("refuses %s with 401 when an operator token is set", async (_, headers) => {
    const { nodes, streams } = await setup("operator-token");
    for (const handler of [nodes, streams]) {
      const result = await handler(httpEvent({ path: "/nodes", headers }), CONTEXT);
      expect(result.statusCode).toBe(401);
      expect(result.headers["www-authenticate"]).toBe("Bearer");
      expect(JSON.parse(result.body as string)).toMatchObject({ error: "unauthorized" });
    }
  });

  it("accepts the current and the previous token while the token is rotated", async () => {
    const { nodes } = await setup(JSON.stringify({ current: "new-token", previous: "old-token" }));
    for (const [token, status] of [
      ["new-token", 200],
      ["old-token", 200],
      ["other-token", 401],
    ] as const) {
      const result = await nodes(httpEvent({ path: "/nodes", headers: { authorization: `Bearer ${token}` } }), CONTEXT);
      expect({ token, status: result.statusCode }).toEqual({ token, status });
    }
  });

  it("answers with the right operator token", async () => {
    const { nodes } = await setup("operator-token");
    const result = await nodes(
      httpEvent({ path: "/nodes", headers: { authorization: "Bearer operator-token" } }),
      CONTEXT,
    );
    expect(result.statusCode).toBe(200);
  });
});
