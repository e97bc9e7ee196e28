import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import { ingestBaseUrl, mayMoveIngest, pointIngest } from "../../lambdas/core/ingest";
import type { MediaNode, StreamSlot } from "../../lambdas/core/model";
import { hasRoom } from "../../lambdas/core/placement";
import { makeConfig, makeNode, T0 } from "../support/builders";

const config = makeConfig({ maxStreamsPerNode: 3 });
const live = (clientId: string): StreamSlot => ({ state: "LIVE", since: T0, clientId });
const holding = (count: number) =>
  makeNode({
    nodeId: "a",
    streams: Object.fromEntries(Array.from({ length: count }, (_, i) => [`c${i}`, live(`${i}`)])),
  });

describe("mayMoveIngest: whether a slot change may have changed the first node in fill order", () => {
  it.each([
    // [reopenSlots, streams held, may move]
    [1, 0, false],
    [1, 1, false],
    [1, 2, true], // one slot left: it may just have been freed from full, and one reopens it
    [1, 3, true], // full: the next node takes over
    [2, 0, false],
    [2, 1, true], // two left: as many as reopen it
    [2, 2, false], // one left: not enough to reopen, and not full
    [2, 3, true],
    [8, 0, true], // at most its whole limit: empty again, it reopens
  ])("with reopenSlots %i, a node of 3 slots holding %i: %s", (reopenSlots, count, expected) => {
    expect(mayMoveIngest(holding(count), T0, { ...config, reopenSlots })).toBe(expected);
  });
});

describe("ingestBaseUrl", () => {
  it.each([
    [false, "rtmp://ingest.example.net:1935/live"],
    [true, "rtmps://ingest.example.net:443/live"],
  ])("tls %s: %s", (tls, expected) => {
    expect(ingestBaseUrl({ host: "ingest.example.net", tls })).toBe(expected);
  });
});

describe("pointIngest", () => {
  // Each node listed as the core's writes list it (room-index.ts).
  async function point(nodes: MediaNode[]) {
    const registry = new MemoryRegistry();
    for (const node of nodes) await registry.createNode({ ...node, hasRoom: hasRoom(node, T0, config) });
    const listNodes = jest.spyOn(registry, "listNodes");
    const held: string[] = [];
    const target = await pointIngest({
      registry,
      config,
      now: () => T0,
      ingest: { hold: async (id) => void held.push(id) },
    });
    return { target, held, fleetReads: listNodes.mock.calls.length };
  }

  it("holds the oldest ACTIVE node with room, reading what resolve reads, not the fleet", async () => {
    const nodes = [
      makeNode({ nodeId: "full", launchedAt: T0 - 2, streams: holding(3).streams }),
      makeNode({ nodeId: "pending", launchedAt: T0 - 1, state: "PENDING" }),
      makeNode({ nodeId: "next" }),
      makeNode({ nodeId: "newest", launchedAt: T0 + 1 }),
    ];
    expect(await point(nodes)).toEqual({ target: "next", held: ["next"], fleetReads: 0 });
  });

  it("leaves the address where it is when no node has room", async () => {
    expect(await point([holding(3)])).toEqual({ target: undefined, held: [], fleetReads: 0 });
  });

  it("after a slot change, reads what resolve reads, with the changed node as the change left it, not the fleet", async () => {
    const registry = new MemoryRegistry();
    // The listing still shows "a" with room: the write that filled it is not in the index yet.
    await registry.createNode({ ...holding(2), launchedAt: T0 - 1 });
    await registry.createNode(makeNode({ nodeId: "b" }));
    const listNodes = jest.spyOn(registry, "listNodes");
    const held: string[] = [];
    const filled = { ...holding(3), launchedAt: T0 - 1 };
    const deps = { registry, config, now: () => T0, ingest: { hold: async (id: string) => void held.push(id) } };
    expect(await pointIngest(deps, filled)).toBe("b");
    expect(held).toEqual(["b"]);
    expect(listNodes).not.toHaveBeenCalled();
  });
});
