import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import { credentialHash } from "../../lambdas/core/credentials";
import { heldStreams } from "../../lambdas/core/model";
import type { NodeChange, Registry } from "../../lambdas/core/registry";
import { sweepChange } from "../../lambdas/core/scaler-run";
import { makeConfig, makeHarness, makeNode, T0, TestClock, testNodeSecret } from "../support/builders";

const config = makeConfig({ maxStreamsPerNode: 2, bufferNodes: 1, minNodes: 1, scaleInIdleSeconds: 600 });

async function fleet(registry: Registry = new MemoryRegistry()) {
  const clock = new TestClock();
  const { group, launcher, harness } = makeHarness(registry, clock, config);
  /** Every instance's agent reports: ready, and the streams the registry has live on it. */
  const heartbeats = async () => {
    for (const { instanceId } of (await group.describe()).instances) {
      await harness.heartbeat(instanceId, { cpuPercent: 5, streams: await harness.registeredStreams(instanceId) });
    }
  };
  /** Three cameras grow the fleet to three nodes, then stop; the third node has idled past scale-in. */
  const growThenIdle = async () => {
    await harness.tick();
    await heartbeats();
    for (const cam of ["c1", "c2", "c3"]) await harness.camera(cam);
    await harness.tick();
    await heartbeats();
    for (const cam of ["c1", "c2", "c3"]) await harness.stop(cam);
    clock.advance(601);
    await heartbeats();
  };
  return { registry, clock, group, launcher, harness, heartbeats, growThenIdle };
}

describe("runScalerTick over the in-process group", () => {
  it("brings an empty fleet to minNodes + bufferNodes, ready once the agents report", async () => {
    const { harness, group, heartbeats, registry } = await fleet();
    const report = await harness.tick();
    expect(report.plan?.desiredCapacity).toBe(2);
    expect((await group.describe()).instances.map((i) => i.lifecycleState)).toEqual(["Pending:Wait", "Pending:Wait"]);
    expect((await registry.listNodes()).map((n) => n.state)).toEqual(["PENDING", "PENDING"]);
    await heartbeats();
    expect((await group.describe()).instances.map((i) => i.lifecycleState)).toEqual(["InService", "InService"]);
    expect((await harness.tick()).plan?.desiredCapacity).toBeUndefined();
  });

  it("fills in order and keeps one spare: cameras 1-2 on the first node, 3 on the second, then a third node", async () => {
    const { harness, group, heartbeats } = await fleet();
    await harness.tick();
    await heartbeats();
    expect([await harness.camera("c1"), await harness.camera("c2"), await harness.camera("c3")]).toEqual([
      "i-1",
      "i-1",
      "i-2",
    ]);
    const report = await harness.tick();
    expect(report.plan?.desiredCapacity).toBe(3);
    expect((await group.describe()).desired).toBe(3);
  });

  it("scales idle nodes in, newest first, down to minNodes + bufferNodes, and forgets them", async () => {
    const { harness, group, launcher, registry, growThenIdle } = await fleet();
    await growThenIdle();
    const report = await harness.tick();
    expect(report.plan?.drain).toEqual(["i-3"]);
    expect(launcher.stopped).toEqual(["i-3"]);
    expect((await group.describe()).desired).toBe(2);
    expect((await registry.getNode("i-3"))?.state).toBe("DEAD");
    await harness.tick();
    expect(await registry.getNode("i-3")).toBeUndefined();
  });

  it("never drains a node that gets a reservation between the decision and the drain", async () => {
    const memory = new MemoryRegistry();
    const racing: Registry = Object.create(memory);
    const { harness, group, clock, registry, growThenIdle } = await fleet(racing);
    await growThenIdle();
    // A camera is placed on the node at the last moment, just before the scaler's drain write.
    racing.applyChange = async (change: NodeChange) => {
      if (change.set?.state === "DRAINING") {
        await memory.applyChange({
          nodeId: change.nodeId,
          when: {},
          putStreams: { late: { state: "RESERVED", since: clock.ms, expiresAt: clock.ms + 60_000 } },
        });
      }
      return memory.applyChange(change);
    };
    const report = await harness.tick();
    expect(report.plan?.drain).toEqual(["i-3"]);
    expect(report.events).toContainEqual(expect.objectContaining({ kind: "skipped", nodeId: "i-3" }));
    expect((await registry.getNode("i-3"))?.state).toBe("ACTIVE");
    expect((await group.describe()).instances.map((i) => i.instanceId)).toContain("i-3");
  });

  it("lets only one of two concurrent scalers act", async () => {
    const { harness, group } = await fleet();
    const [a, b] = await Promise.all([harness.tick({ owner: "a" }), harness.tick({ owner: "b" })]);
    expect([a.ran, b.ran].sort()).toEqual([false, true]);
    expect((await group.describe()).desired).toBe(2);
    // The lease is released: the next run goes ahead and changes nothing.
    expect(await harness.tick({ owner: "b" })).toMatchObject({
      ran: true,
      plan: { desiredCapacity: undefined },
    });
  });

  it("declares a node whose machine went down DEAD, removes its streams, terminates its instance later, then forgets it", async () => {
    const { harness, group, heartbeats, clock, registry } = await fleet();
    await harness.tick();
    await heartbeats();
    await harness.camera("c1");
    harness.machines.crash("i-1");
    clock.advance(61); // i-1 is silent from now on; i-2's agent keeps reporting
    await harness.heartbeat("i-2", { streams: [] });
    const first = await harness.tick();
    expect(first.plan?.markDead).toEqual(["i-1"]);
    expect(await registry.getNode("i-1")).toMatchObject({ state: "DEAD", streams: {} });
    expect((await harness.place("c1")).kind).toBe("placed"); // the camera re-resolves elsewhere
    clock.advance(61);
    await harness.heartbeat("i-2", { streams: [] });
    const later = await harness.tick();
    expect(later.plan?.terminate).toEqual(["i-1"]);
    expect((await group.describe()).instances.map((i) => i.instanceId)).not.toContain("i-1");
    await harness.tick();
    expect(await registry.getNode("i-1")).toBeUndefined();
  });

  it("protects a node carrying streams whose instance is not protected", async () => {
    const { harness, group, heartbeats } = await fleet();
    await harness.tick();
    await heartbeats();
    await harness.camera("c1");
    await group.setProtection(["i-1"], false);
    const report = await harness.tick();
    expect(report.plan?.protect).toEqual(["i-1"]);
    expect((await group.describe()).instances.find((i) => i.instanceId === "i-1")?.protectedFromScaleIn).toBe(true);
  });

  it("sweeps expired reservations before deciding", async () => {
    const { harness, heartbeats, clock, registry } = await fleet();
    await harness.tick();
    await heartbeats();
    await harness.place("never-published");
    clock.advance(61);
    await heartbeats();
    await harness.tick();
    const node = await registry.getNode("i-1");
    expect(node?.streams).toEqual({});
    expect(heldStreams(node as never, clock.ms)).toEqual([]);
  });
});

type Fleet = Awaited<ReturnType<typeof fleet>>;

describe("the scaler repairs a node's registration", () => {
  it.each<[string, (f: Fleet) => Promise<unknown>]>([
    [
      "an instance whose launch event was missed: it registers it",
      ({ registry }) => registry.deleteNode("i-2", ["PENDING"]),
    ],
    [
      "a node the cloud had no address for yet: it asks again",
      ({ registry }) => registry.applyChange({ nodeId: "i-2", when: {}, set: { rtmpBaseUrl: "" } }),
    ],
    [
      "a node registered before credentials were issued per launch: it records the secret the node holds",
      async ({ registry }) => {
        await registry.deleteNode("i-2", ["PENDING"]);
        await registry.createNode(makeNode({ nodeId: "i-2", state: "PENDING", credentialHash: undefined }));
      },
    ],
  ])("%s; the node then reports and is ACTIVE", async (_, breakRegistration) => {
    const f = await fleet();
    await f.harness.tick();
    await breakRegistration(f);
    await f.harness.tick();
    await f.heartbeats();
    expect(await f.registry.getNode("i-2")).toMatchObject({
      state: "ACTIVE",
      rtmpBaseUrl: "rtmp://i-2.test:1935/live",
      credentialHash: credentialHash(testNodeSecret("i-2")),
    });
  });
});

describe("sweepChange", () => {
  const NOW = T0 + 3_600_000;
  const cpu = { percent: 10, at: NOW - 1000, streams: 1 };
  const live = { state: "LIVE", since: NOW - 120_000, clientId: "1" } as const;
  const reserved = { state: "RESERVED", since: NOW - 30_000, expiresAt: NOW + 30_000 } as const;
  const expired = { state: "RESERVED", since: NOW - 120_000, expiresAt: NOW - 60_000 } as const;

  it.each([
    ["a node with no slot", {}],
    ["a node whose slots all still hold", { live, reserved }],
  ])("changes nothing on %s", (_, streams) => {
    expect(sweepChange(makeNode({ nodeId: "a", cpu, streams }), NOW)).toBeUndefined();
  });

  it("removes expired reservations, only while they are unchanged, and leaves the node's CPU alone", () => {
    const change = sweepChange(makeNode({ nodeId: "a", cpu, streams: { live, reserved, expired } }), NOW);
    expect(change).toEqual({
      nodeId: "a",
      when: { streams: { expired: { state: "RESERVED", expiresAt: NOW - 60_000 } } },
      set: { streamsChangedAt: NOW },
      removeStreams: ["expired"],
    });
  });
});
