/**
 * Concurrency against a real conditional-write engine (moto's DynamoDB): a burst of resolves must
 * never put more on a node than it has room for, and must not lose a reservation.
 */
import { heldStreams, slotOf } from "../../lambdas/core/model";
import { publishStream, type ResolveOutcome, resolveStream } from "../../lambdas/core/streams";
import { makeConfig, makeNode, T0, testNodeSecret } from "../support/builders";

/** A node's name and secret, as its shim presents them. */
const onNode = (nodeId: string) => ({ nodeId, secret: testNodeSecret(nodeId) });

import { useMoto } from "../support/moto";
import { freshDynamoRegistry } from "../support/registry-table";

useMoto();

jest.setTimeout(120_000);

// A 1% default stream cost leaves room for 80 on a node without a CPU sample: the cap of 45 decides.
async function burst(
  count: number,
  config = makeConfig({ maxStreamsPerNode: 45, streamCpuCostPercent: 1 }),
  cpu?: { percent: number; streams: number },
) {
  const { registry } = await freshDynamoRegistry("burst");
  await registry.createNode(makeNode({ nodeId: "i-first", cpu: cpu && { ...cpu, at: T0 } }));
  await registry.createNode(makeNode({ nodeId: "i-second", launchedAt: T0 + 1000 }));
  const deps = { registry, config, now: () => T0 };
  const outcomes: ResolveOutcome[] = await Promise.all(
    Array.from({ length: count }, (_, i) => resolveStream(deps, `cam${i}`)),
  );
  const nodes = await registry.listNodes({ consistent: true });
  const held = Object.fromEntries(nodes.map((n) => [n.nodeId, heldStreams(n, T0)]));
  return { outcomes, held };
}

describe("200 concurrent resolves", () => {
  it("put exactly 45 on a first node with room for 45, the rest on the next node or 503, never more", async () => {
    const { outcomes, held } = await burst(200);
    const placedOn = (id: string) => outcomes.filter((o) => o.kind === "placed" && o.stream.nodeId === id).length;
    expect(held["i-first"]).toHaveLength(45);
    expect(held["i-second"]).toHaveLength(45);
    expect(placedOn("i-first")).toBe(45);
    expect(placedOn("i-second")).toBe(45);
    // Every other camera was told to retry: no room (a scale-out) or lost races (busy).
    expect(outcomes.filter((o) => o.kind !== "placed")).toHaveLength(110);
    // Every placed camera's reservation is in the registry, on the node it was told.
    for (const outcome of outcomes) {
      if (outcome.kind === "placed") expect(held[outcome.stream.nodeId]).toContain(outcome.stream.stream);
    }
  });

  it("respect a CPU-derived room: 10% idle CPU at 2% a stream leaves room for 35", async () => {
    const { held } = await burst(100, makeConfig({ maxStreamsPerNode: 40 }), { percent: 10, streams: 0 });
    expect(held["i-first"]).toHaveLength(35);
    expect(held["i-second"]).toHaveLength(40);
  });
});

describe("1,000 concurrent resolves over 10 nodes listed with room", () => {
  it("put exactly 45 on each, never more, and every placed camera's reservation is where it was told", async () => {
    const { registry } = await freshDynamoRegistry("burst1000");
    const ids = Array.from({ length: 10 }, (_, i) => `i-${String(i).padStart(2, "0")}`);
    for (const [i, nodeId] of ids.entries()) await registry.createNode(makeNode({ nodeId, launchedAt: T0 + i }));
    const config = makeConfig({ maxStreamsPerNode: 45, streamCpuCostPercent: 1 });
    const deps = { registry, config, now: () => T0 };
    const outcomes = await Promise.all(Array.from({ length: 1000 }, (_, i) => resolveStream(deps, `cam${i}`)));
    const nodes = await registry.listNodes({ consistent: true });
    expect(nodes.map((n) => [n.nodeId, heldStreams(n, T0).length])).toEqual(ids.map((id) => [id, 45]));
    const placed = outcomes.flatMap((o) => (o.kind === "placed" ? [o.stream] : []));
    expect(placed).toHaveLength(450);
    const held = new Map(nodes.map((n) => [n.nodeId, heldStreams(n, T0)]));
    for (const stream of placed) expect(held.get(stream.nodeId)).toContain(stream.stream);
    // Full, every one: none is listed with room any more.
    expect(await registry.nodesWithRoom(10)).toEqual([]);
  }, 600_000);
});

describe("50 concurrent publishes of one stream name on two nodes", () => {
  it("make exactly one live, fleet-wide, and its claim names that node", async () => {
    const { registry } = await freshDynamoRegistry("claims");
    await registry.createNode(makeNode({ nodeId: "i-a" }));
    await registry.createNode(makeNode({ nodeId: "i-b", launchedAt: T0 + 1 }));
    const deps = { registry, config: makeConfig(), now: () => T0 };
    // Each node's nginx reports a publish of the same name on its own connection.
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        publishStream(deps, { ...onNode(i % 2 === 0 ? "i-a" : "i-b"), stream: "cam", clientId: String(i + 1) }),
      ),
    );
    const nodes = await registry.listNodes({ consistent: true });
    const live = nodes.flatMap((n) =>
      slotOf(n, "cam")?.state === "LIVE" ? [{ nodeId: n.nodeId, ...slotOf(n, "cam") }] : [],
    );
    expect(live).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === "allowed")).toHaveLength(1);
    expect(await registry.claimOf("cam")).toMatchObject({ nodeId: live[0]?.nodeId, clientId: live[0]?.clientId });
    // The others were refused: another publisher of the name holds it here, or on the other node, or
    // (on i-b) the older i-a still had room.
    const reasons = new Set(outcomes.flatMap((o) => (o.kind === "denied" ? [o.reason] : [])));
    expect(
      [...reasons].every((r) => ["live_elsewhere", "already_live", "contended", "not_first_in_fill_order"].includes(r)),
    ).toBe(true);
  });
});
