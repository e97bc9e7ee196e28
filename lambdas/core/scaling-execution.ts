/**
 * Carrying a scaling plan out (`scaling-plan.ts` decides it): each action through the ports, in
 * an order that never leaves a stream unprotected or cut, every registry step a conditional write.
 */
import { type FleetDeps, markDead, setProtection } from "./fleet";
import { type GroupState, instanceGone } from "./group";
import type { FleetEvent, FleetEventKind, MediaNode } from "./model";
import type { ScalingPlan } from "./scaling-plan";

/**
 * Carries the plan out, in an order that never leaves a stream unprotected or cut. Each action is a
 * step of its own: one that fails (an API throttled, a node that changed) is recorded as an
 * `error` event and the others go on; the next run decides again from what happened.
 */
export async function carryOut(
  deps: FleetDeps,
  plan: ScalingPlan,
  group: GroupState,
  nodes: MediaNode[],
  events: FleetEvent[],
): Promise<void> {
  const { registry, fleet } = deps;
  const now = deps.now();
  const byId = new Map(nodes.map((n) => [n.nodeId, n]));
  const note = (kind: FleetEventKind, message: string, nodeId?: string) =>
    events.push({ at: now, kind, nodeId, message });
  const step = async (what: string, nodeId: string | undefined, action: () => Promise<void>) => {
    try {
      await action();
    } catch (error) {
      note(
        "error",
        `${what} failed (${(error as Error).name}: ${(error as Error).message}); the next run retries`,
        nodeId,
      );
    }
  };

  // 1. Protect first: a node carrying streams must never wait for the rest of the tick.
  if (plan.protect.length > 0) {
    await step(`protecting ${plan.protect.join(", ")}`, undefined, () => setProtection(deps, plan.protect, true));
  }

  // 2. Launches the heartbeat could not continue, and liveness.
  for (const nodeId of plan.continueLaunch) {
    await step(`continuing the launch of ${nodeId}`, nodeId, () => fleet.completeLaunch(nodeId, "CONTINUE"));
  }
  for (const nodeId of plan.markDead) {
    const node = byId.get(nodeId);
    await step(`declaring ${nodeId} DEAD`, nodeId, async () => {
      if (node && !(await markDead(registry, node, now)))
        note("skipped", `node ${nodeId} changed: not marked DEAD`, nodeId);
    });
  }
  for (const nodeId of plan.forget) {
    await step(`forgetting ${nodeId}`, nodeId, async () => void (await registry.deleteNode(nodeId, ["DEAD"])));
  }

  // 3. Capacity up.
  for (const nodeId of plan.undrain) {
    await step(`taking ${nodeId} back into service`, nodeId, async () => {
      await registry.applyChange({
        nodeId,
        when: { states: ["DRAINING"] },
        set: { state: "ACTIVE", stateChangedAt: now },
      });
    });
  }
  let desired = group.desired;
  const raise = plan.desiredCapacity;
  if (raise !== undefined) {
    await step(`raising the desired capacity to ${raise}`, undefined, async () => {
      await fleet.setDesiredCapacity(raise);
      desired = raise;
    });
  }

  // 4. Capacity down: drain (only while empty), check again, unprotect, terminate that instance.
  const toTerminate = [...plan.terminate];
  for (const nodeId of plan.drain) {
    await step(`draining ${nodeId}`, nodeId, async () => {
      const drained = await registry.applyChange({
        nodeId,
        when: { states: ["ACTIVE"], slotsEqual: 0 },
        set: { state: "DRAINING", stateChangedAt: now },
      });
      if (drained.applied) toTerminate.push(nodeId);
      else note("skipped", `node ${nodeId} got a stream: not drained`, nodeId);
    });
  }
  const instances = new Map(group.instances.map((i) => [i.instanceId, i]));
  for (const nodeId of plan.replace) {
    if (instanceGone(instances.get(nodeId))) continue;
    await step(`replacing dead node ${nodeId}`, nodeId, async () => {
      await fleet.setProtection([nodeId], false);
      await fleet.terminate(nodeId, false);
      note("terminated", `terminated dead node ${nodeId}; the group launches its replacement`, nodeId);
    });
  }
  for (const nodeId of toTerminate) {
    await step(`terminating ${nodeId}`, nodeId, async () => {
      const node = await registry.getNode(nodeId);
      const empty = node !== undefined && Object.keys(node.streams).length === 0;
      if (!node || !empty || (node.state !== "DRAINING" && node.state !== "DEAD")) {
        note("skipped", `node ${nodeId} is not empty or not draining: not terminated`, nodeId);
        return;
      }
      if (instanceGone(instances.get(nodeId))) return;
      await setProtection(deps, [nodeId], false);
      // Never below the group's minimum: then the group replaces the instance instead.
      const decrement = desired > group.min;
      await fleet.terminate(nodeId, decrement);
      if (decrement) desired--;
      if (node.state === "DRAINING") {
        await registry.applyChange({
          nodeId,
          when: { states: ["DRAINING"], slotsEqual: 0 },
          set: { state: "DEAD", stateChangedAt: now },
        });
      }
      note(
        "terminated",
        `terminated node ${nodeId}${decrement ? "" : " (replaced: the group is at its minimum)"}`,
        nodeId,
      );
    });
  }
}
