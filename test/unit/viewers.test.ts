import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import { NodeRefusedError } from "../../lambdas/core/fleet";
import type { MediaNode, StreamSlot } from "../../lambdas/core/model";
import {
  admitViewer,
  locateStream,
  releaseViewer,
  repairedViewers,
  type ViewerReport,
  viewerVerdict,
} from "../../lambdas/core/viewers";
import { makeConfig, makeNode, T0, TestClock, testNodeSecret } from "../support/builders";

const config = makeConfig({ maxViewersPerStream: 2 });
const live = (viewers?: number): StreamSlot => ({ state: "LIVE", since: T0, clientId: "1", viewers });
const reserved: StreamSlot = { state: "RESERVED", since: T0, expiresAt: T0 + 60_000 };
const player = (overrides: Partial<ViewerReport> = {}): ViewerReport => ({
  nodeId: "n1",
  secret: testNodeSecret("n1"),
  stream: "cam1",
  ...overrides,
});

/** A registry holding node n1 (with `cam1` as given, claimed when live), and the deps over it. */
async function fleetWith(cam1: StreamSlot | undefined, overrides: Partial<MediaNode> = {}) {
  const registry = new MemoryRegistry();
  const clock = new TestClock(T0 + 60_000);
  await registry.createNode(makeNode({ nodeId: "n1", streams: cam1 ? { cam1 } : {}, ...overrides }));
  if (cam1?.state === "LIVE") {
    await registry.applyChange({ nodeId: "n1", when: {}, claim: { cam1: "1" }, set: { streamsChangedAt: T0 } });
  }
  return { registry, clock, deps: { registry, config, now: clock.now } };
}

describe("viewerVerdict: one more player?", () => {
  it.each<[string, StreamSlot | undefined, string]>([
    ["a stream this node does not hold: not live here", undefined, "not_live_here"],
    ["a reservation (no camera yet): not live here", reserved, "not_live_here"],
    ["a live stream with no player yet: room", live(), "room"],
    ["a live stream one under the cap: room", live(1), "room"],
    ["a live stream at the cap: the cap refuses the next player", live(2), "viewer_cap_reached"],
  ])("%s", (_, slot, verdict) => {
    expect(viewerVerdict(slot, config)).toBe(verdict);
  });
});

describe("admitViewer: on_play", () => {
  it.each<[string, StreamSlot | undefined, string, number | undefined]>([
    ["admits the first player of a live stream, and counts it", live(), "admitted", 1],
    ["admits a player under the cap, and counts it", live(1), "admitted", 2],
    ["refuses the player one too many: the cap is reached", live(2), "viewer_cap_reached", 2],
    ["refuses a player of a stream not live on this node", undefined, "not_live_here", undefined],
    ["refuses a player of a reservation", reserved, "not_live_here", undefined],
  ])("%s", async (_, cam1, expected, viewersAfter) => {
    const { registry, deps } = await fleetWith(cam1);
    const before = await registry.getNode("n1");
    const outcome = await admitViewer(deps, player());
    expect(outcome.kind === "admitted" ? outcome.kind : outcome.reason).toBe(expected);
    const after = await registry.getNode("n1");
    expect(after?.streams.cam1?.viewers).toBe(viewersAfter);
    // A refusal writes nothing.
    if (outcome.kind === "denied") expect(after).toEqual(before);
  });

  it("admits exactly the cap out of a burst of players arriving together", async () => {
    const { registry, deps } = await fleetWith(live());
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => admitViewer(deps, player())));
    expect(outcomes.filter((o) => o.kind === "admitted")).toHaveLength(2);
    expect((await registry.getNode("n1"))?.streams.cam1?.viewers).toBe(2);
  });

  it.each<[string, Partial<ViewerReport>, Partial<MediaNode>]>([
    ["another node's secret", { secret: testNodeSecret("n2") }, {}],
    ["a node that is not registered", { nodeId: "n9", secret: testNodeSecret("n9") }, {}],
    ["a DEAD node (terminated: its secret is void)", {}, { state: "DEAD" }],
  ])("refuses a report made with %s, writing nothing", async (_, report, node) => {
    const { registry, deps } = await fleetWith(live(), node);
    const before = await registry.getNode("n1");
    await expect(admitViewer(deps, player(report))).rejects.toThrow(NodeRefusedError);
    expect(await registry.getNode("n1")).toEqual(before);
  });
});

describe("releaseViewer: on_play_done", () => {
  it.each<[string, StreamSlot | undefined, string, number | undefined]>([
    ["gives a player's place back", live(2), "released", 1],
    ["ignores a play_done with no player counted (it overtook its play)", live(0), "ignored", 0],
    ["ignores a play_done of a stream that ended", undefined, "ignored", undefined],
  ])("%s", async (_, cam1, expected, viewersAfter) => {
    const { registry, deps } = await fleetWith(cam1);
    expect((await releaseViewer(deps, player())).kind).toBe(expected);
    expect((await registry.getNode("n1"))?.streams.cam1?.viewers).toBe(viewersAfter);
  });

  it("refuses another node's secret", async () => {
    const { deps } = await fleetWith(live(1));
    await expect(releaseViewer(deps, player({ secret: testNodeSecret("n2") }))).rejects.toThrow(NodeRefusedError);
  });
});

describe("locateStream: GET /play", () => {
  it.each<[string, StreamSlot | undefined, Partial<MediaNode>, string]>([
    ["finds a live stream on the node its claim names", live(1), {}, "live"],
    ["says a live stream at its cap is full", live(2), {}, "full"],
    ["finds no stream that is only reserved", reserved, {}, "not_live"],
    ["finds no stream nobody publishes", undefined, {}, "not_live"],
    ["finds no stream on a DEAD node", live(), { state: "DEAD" }, "not_live"],
  ])("%s", async (_, cam1, node, kind) => {
    const { deps } = await fleetWith(cam1, node);
    expect((await locateStream(deps, "cam1")).kind).toBe(kind);
  });
});

describe("repairedViewers: the heartbeat's count", () => {
  const GRACE = 10_000;
  const NOW = T0 + 100_000;
  it.each<[string, StreamSlot, number | undefined, number | undefined]>([
    ["takes the node's count when no callback changed the registry's for the grace period", live(3), 1, 1],
    ["leaves a count that agrees", live(3), 3, undefined],
    ["leaves the count when the agent sends none", live(3), undefined, undefined],
    [
      "leaves a count a callback changed within the grace period",
      { ...live(3), viewersChangedAt: NOW - GRACE + 1 },
      1,
      undefined,
    ],
    ["counts from the slot's start when no callback ever changed it", { ...live(), since: NOW - GRACE }, 2, 2],
    ["waits out the grace period of a slot just written", { ...live(), since: NOW - 1 }, 2, undefined],
  ])("%s", (_, slot, reported, expected) => {
    expect(repairedViewers(slot, reported, NOW, GRACE)).toBe(expected);
  });
});
