/**
 * Randomized scenarios against moto: cameras come and go, time passes, CPU moves, machines crash
 * and agents are cut off; after every scaler tick the invariants of the operator's demands must hold:
 * - no instance that carried a live stream and whose machine is up was terminated, heard from or not;
 * - every node carrying a stream or reservation is protected in the group after the tick;
 * - the desired capacity stays within [min(minNodes + bufferNodes, maxNodes), maxNodes], and the
 *   nodes ready or launching cover those in use plus the spare;
 * - a second scaler running at the same moment changes nothing.
 */
import { DEAD_AFTER_HEARTBEATS } from "../../lambdas/core/config";
import { heldStreams } from "../../lambdas/core/model";
import { isFull, newNodeSlotLimit, slotLimit } from "../../lambdas/core/placement";
import { Random } from "../../sim/random";
import { makeConfig } from "../support/builders";
import { useMoto } from "../support/moto";
import { motoFleet } from "../support/moto-fleet";

useMoto();
jest.setTimeout(600_000);

/** A seeded source of numbers in [0, 1) (the simulator's), so a failure is reproducible from its seed. */
const rng = (seed: number) => {
  const random = new Random(seed);
  return () => random.next();
};

const SCENARIOS = 50;
const STEPS = 8;

describe(`${SCENARIOS} randomized scenarios`, () => {
  it.each(Array.from({ length: SCENARIOS }, (_, i) => i + 1))("seed %i", async (seed) => {
    const random = rng(seed);
    const config = makeConfig({
      maxStreamsPerNode: 1 + Math.floor(random() * 4),
      bufferNodes: Math.floor(random() * 3),
      minNodes: Math.floor(random() * 2),
      maxNodes: 3 + Math.floor(random() * 4),
      scaleInIdleSeconds: 120,
    });
    const fleet = await motoFleet(config);
    const cameras = new Set<string>();
    let next = 0;
    for (let step = 0; step < STEPS; step++) {
      // The world moves: time, agents, cameras.
      fleet.clock.advance(Math.floor(random() * 200));
      const { instances } = await fleet.instances();
      if (random() < 0.08 && instances.length > 0) {
        const id = instances[Math.floor(random() * instances.length)]?.InstanceId as string;
        // Half the time the machine crashes; half the time only its heartbeats stop reaching us.
        if (random() < 0.5) await fleet.crash(id);
        else fleet.silenced.add(id);
      }
      await fleet.heartbeats((_, streams) => Math.min(100, 3 + streams * (5 + random() * 25)));
      for (let i = Math.floor(random() * 5); i > 0; i--) {
        const name = `cam${next++}`;
        const placed = await fleet.camera(name);
        if (placed.startsWith("i-")) cameras.add(name);
      }
      for (const name of [...cameras]) {
        if (random() < 0.3) {
          await fleet.stop(name);
          cameras.delete(name);
        }
      }

      const carryingBefore = await fleet.carrying();
      const machineUp = (id: string) => !fleet.crashed.has(id);
      const [a, b] = await Promise.all([fleet.tick({ owner: "scaler-a" }), fleet.tick({ owner: "scaler-b" })]);
      const context = `seed ${seed}, step ${step}, config ${JSON.stringify(config)}`;
      expect({ context, ran: [a.ran, b.ran].filter(Boolean).length }).toEqual({ context, ran: 1 });
      const after = await fleet.instances();
      const inGroup = new Map(after.instances.map((i) => [i.InstanceId as string, i]));

      for (const [nodeId] of carryingBefore) {
        if (machineUp(nodeId))
          expect({ context, nodeId, terminated: !inGroup.has(nodeId) }).toEqual({ context, nodeId, terminated: false });
      }
      for (const [nodeId, node] of await fleet.carrying()) {
        if (node.state === "DEAD" || !inGroup.has(nodeId)) continue;
        expect({ context, nodeId, protected: inGroup.get(nodeId)?.ProtectedFromScaleIn }).toEqual({
          context,
          nodeId,
          protected: true,
        });
      }
      const floor = Math.min(config.minNodes + config.bufferNodes, config.maxNodes);
      expect({ context, desired: after.desired, floor, atMostMax: after.desired <= config.maxNodes }).toEqual({
        context,
        desired: Math.max(after.desired, floor),
        floor,
        atMostMax: true,
      });
      const nodesAfter = new Map((await fleet.registry.listNodes({ consistent: true })).map((n) => [n.nodeId, n]));
      const inUseNodes = [...nodesAfter.values()].filter(
        (n) => n.state === "ACTIVE" && (heldStreams(n, fleet.clock.ms).length > 0 || isFull(n, fleet.clock.ms, config)),
      );
      const inUse = inUseNodes.length;
      // bufferNodes is a worth of room: new nodes' slots, less the free slots of the nodes in use.
      const freeSlots = inUseNodes.reduce(
        (sum, n) => sum + Math.max(0, slotLimit(n, config) - heldStreams(n, fleet.clock.ms).length),
        0,
      );
      const newSlots = newNodeSlotLimit(
        [...nodesAfter.values()].filter((n) => n.state !== "DEAD"),
        config,
      );
      const spare = Math.ceil(Math.max(0, config.bufferNodes * newSlots - freeSlots) / newSlots);
      const readyOrLaunching = after.instances.filter((i) => {
        const node = nodesAfter.get(i.InstanceId as string);
        return !node || node.state === "ACTIVE" || node.state === "PENDING";
      }).length;
      const needed = Math.min(config.maxNodes, Math.max(config.minNodes, inUse) + spare);
      // A SILENT node keeps its place in the group (its cameras still stream): at the group's
      // maximum, it is a place the spare cannot have, and that is the price of never cutting it.
      const silentPlaces =
        after.desired >= config.maxNodes ? [...nodesAfter.values()].filter((n) => n.state === "SILENT").length : 0;
      const detail =
        readyOrLaunching + silentPlaces >= needed
          ? ""
          : JSON.stringify({
              inUse,
              needed,
              readyOrLaunching,
              desired: after.desired,
              instances: after.instances.map((i) => [
                i.InstanceId,
                i.LifecycleState,
                nodesAfter.get(i.InstanceId as string)?.state,
              ]),
              silenced: [...fleet.silenced],
              plan: a.ran ? a.plan : b.plan,
            });
      expect({ context, covered: readyOrLaunching + silentPlaces >= needed, detail }).toEqual({
        context,
        covered: true,
        detail: "",
      });

      // Straight after, with nothing changed, a scaler has nothing left to do about capacity.
      const again = await fleet.tick({ owner: "scaler-b" });
      expect({ context, desired: again.plan?.desiredCapacity }).toEqual({ context, desired: undefined });
    }
    // Crashed nodes are eventually declared DEAD, their streams gone; cut-off ones that carry
    // streams are kept SILENT, their streams registered.
    fleet.clock.advance(DEAD_AFTER_HEARTBEATS * config.heartbeatSeconds + 1);
    await fleet.heartbeats();
    await fleet.tick();
    for (const id of fleet.silenced) {
      const node = await fleet.registry.getNode(id);
      // Silenced before its first heartbeat: its launch hook's timeout judges it (moto has no hooks).
      if (!node || node.state === "PENDING") continue;
      const carries = Object.values(node.streams).some((s) => s.state === "LIVE");
      const expected = fleet.crashed.has(id) ? "DEAD" : carries ? "SILENT" : ["SILENT", "DEAD"];
      const state = Array.isArray(expected) && expected.includes(node.state) ? expected : node.state;
      expect({ seed, id, state }).toEqual({ seed, id, state: expected });
      if (fleet.crashed.has(id)) expect({ seed, id, streams: node.streams }).toEqual({ seed, id, streams: {} });
    }
  });
});
