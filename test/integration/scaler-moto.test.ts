/**
 * The scaler against moto's Auto Scaling and EC2 and the DynamoDB registry: scripted
 * scenarios of the operator's two demands (fill in order; never cut a stream).
 */
import { makeConfig } from "../support/builders";
import { useMoto } from "../support/moto";
import { motoFleet } from "../support/moto-fleet";

useMoto();

const config = makeConfig({ maxStreamsPerNode: 2, bufferNodes: 1, minNodes: 1, maxNodes: 6, scaleInIdleSeconds: 600 });

describe("scaler against moto", () => {
  it("launches minNodes + bufferNodes, fills in order, keeps a spare, scales idle nodes in newest first", async () => {
    const fleet = await motoFleet(config);
    expect((await fleet.tick()).plan?.desiredCapacity).toBe(2);
    expect((await fleet.instances()).instances).toHaveLength(2);
    await fleet.heartbeats();
    const ids = (await fleet.registry.listNodes({ consistent: true }))
      .sort((a, b) => a.launchedAt - b.launchedAt || a.nodeId.localeCompare(b.nodeId))
      .map((n) => n.nodeId);
    expect([await fleet.camera("c1"), await fleet.camera("c2"), await fleet.camera("c3")]).toEqual([
      ids[0],
      ids[0],
      ids[1],
    ]);

    // A while later, the third node is launched: it is the newest.
    fleet.clock.advance(5);
    await fleet.tick();
    const grown = await fleet.instances();
    expect(grown.desired).toBe(3);
    // Nodes carrying streams are protected in the group.
    for (const instance of grown.instances) {
      if ([ids[0], ids[1]].includes(instance.InstanceId)) expect(instance.ProtectedFromScaleIn).toBe(true);
    }
    fleet.clock.advance(30);
    await fleet.heartbeats();
    const third = (await fleet.registry.listNodes({ consistent: true })).find((n) => !ids.includes(n.nodeId));
    expect(third?.state).toBe("ACTIVE");

    for (const cam of ["c1", "c2", "c3"]) await fleet.stop(cam);
    fleet.clock.advance(601);
    await fleet.heartbeats();
    const report = await fleet.tick();
    expect(report.plan?.drain).toEqual([third?.nodeId]);
    const shrunk = await fleet.instances();
    expect(shrunk.desired).toBe(2);
    expect(shrunk.instances.map((i) => i.InstanceId).sort()).toEqual([ids[0], ids[1]].sort());
  });

  it("uses the agents' CPU: a node at 85% is full, the next camera goes to the next node and a node is launched", async () => {
    const cpuConfig = makeConfig({ bufferNodes: 1, minNodes: 1, maxNodes: 6 });
    const fleet = await motoFleet(cpuConfig);
    await fleet.tick();
    await fleet.heartbeats();
    const [first, second] = (await fleet.registry.listNodes({ consistent: true })).sort((a, b) =>
      a.nodeId.localeCompare(b.nodeId),
    );
    const older = (first?.launchedAt ?? 0) <= (second?.launchedAt ?? 0) ? first : second;
    expect(await fleet.camera("c1")).toBe(older?.nodeId);
    // The filling node's agent says its worker reached 85%: the node is full whatever its stream count.
    fleet.clock.advance(120);
    await fleet.heartbeats((nodeId) => (nodeId === older?.nodeId ? 85 : 3));
    const report = await fleet.tick();
    expect((await fleet.registry.getNode(older?.nodeId as string))?.cpu?.percent).toBe(85);
    const next = await fleet.camera("c2");
    expect(next).not.toBe(older?.nodeId);
    expect(report.plan?.summary).toMatchObject({ inUse: 1, allInUseFull: true });
    await fleet.tick();
    expect((await fleet.instances()).desired).toBe(3);
  });

  it("a second scaler running at the same time changes nothing", async () => {
    const fleet = await motoFleet(config);
    const [a, b] = await Promise.all([fleet.tick({ owner: "scaler-a" }), fleet.tick({ owner: "scaler-b" })]);
    expect([a.ran, b.ran].sort()).toEqual([false, true]);
    expect((await fleet.instances()).desired).toBe(2);
    await fleet.heartbeats();
    const again = await fleet.tick({ owner: "scaler-b" });
    expect(again.plan).toMatchObject({ desiredCapacity: undefined, drain: [], terminate: [], markDead: [] });
  });

  it("a node whose machine crashes is DEAD, its streams leave the registry, its cameras re-resolve, it is replaced", async () => {
    const fleet = await motoFleet(config);
    await fleet.tick();
    await fleet.heartbeats();
    const node = await fleet.camera("c1");
    await fleet.crash(node); // EC2 says the instance is stopped
    fleet.clock.advance(61);
    await fleet.heartbeats();
    const report = await fleet.tick();
    expect(report.plan?.markDead).toEqual([node]);
    expect((await fleet.registry.getNode(node))?.streams).toEqual({});
    const elsewhere = await fleet.camera("c1");
    expect(elsewhere).not.toBe(node);
    fleet.clock.advance(61);
    await fleet.heartbeats();
    await fleet.tick();
    expect((await fleet.instances()).instances.map((i) => i.InstanceId)).not.toContain(node);
  });

  it("a node whose agent is cut off while it carries a camera is kept SILENT, never terminated, back with its heartbeats", async () => {
    const fleet = await motoFleet(config);
    await fleet.tick();
    await fleet.heartbeats();
    const node = await fleet.camera("c1");
    fleet.silenced.add(node); // the machine and nginx run on; EC2 says it is running
    for (let minute = 0; minute < 10; minute++) {
      fleet.clock.advance(61);
      await fleet.heartbeats();
      const report = await fleet.tick();
      expect(report.plan?.markDead).toEqual([]);
      expect([...(report.plan?.terminate ?? []), ...(report.plan?.replace ?? [])]).not.toContain(node);
    }
    expect((await fleet.instances()).instances.map((i) => i.InstanceId)).toContain(node);
    expect(await fleet.registry.getNode(node)).toMatchObject({ state: "SILENT", streams: { c1: { state: "LIVE" } } });
    fleet.silenced.delete(node);
    await fleet.heartbeats();
    expect(await fleet.registry.getNode(node)).toMatchObject({ state: "ACTIVE", streams: { c1: { state: "LIVE" } } });
  });
});
