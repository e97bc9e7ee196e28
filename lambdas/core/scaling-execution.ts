/**
 * Carrying a scaling plan out (`scaling-plan.ts` decides it): each action through the ports, in
 * an order that never leaves a stream unprotected or cut, every registry step a conditional write.
 * Each action is a step of its own: one that fails (an API throttled, a node that changed) is
 * recorded as an `error` event and the others go on; the next run decides again from what happened.
 */
import { credentialHash, newNodeSecret } from "./credentials";
import { markDead, setProtection } from "./fleet";
import { type GroupState, instanceGone } from "./group";
import { type NodeLifecycleDeps, registerNode } from "./lifecycle";
import type { FleetEvent, FleetEventKind, MediaNode } from "./model";
import type { Instances, ScalingPlan } from "./scaling-plan";

/** One plan being carried out: the ports, the group as it was read, and what happened so far. */
class Execution {
  /** What the steps did beyond the plan's own events: terminations, skips, errors. */
  readonly events: FleetEvent[] = [];
  private readonly now: number;
  private readonly instances: Instances;
  /** The group's desired capacity as this execution has left it. */
  private desired: number;

  constructor(
    private readonly deps: NodeLifecycleDeps,
    private readonly group: GroupState,
  ) {
    this.now = deps.now();
    this.instances = new Map(group.instances.map((i) => [i.instanceId, i]));
    this.desired = group.desired;
  }

  /** Protects the instances of nodes that carry streams, and records it on the nodes. */
  async protect(nodeIds: readonly string[]): Promise<void> {
    if (nodeIds.length === 0) return;
    await this.attempt(`protecting ${nodeIds.join(", ")}`, undefined, () => setProtection(this.deps, nodeIds, true));
  }

  /** Lets go the launches that the heartbeat making their node ACTIVE could not continue. */
  async continueLaunches(nodeIds: readonly string[]): Promise<void> {
    for (const nodeId of nodeIds) {
      await this.attempt(`continuing the launch of ${nodeId}`, nodeId, () =>
        this.deps.fleet.completeLaunch(nodeId, "CONTINUE"),
      );
    }
  }

  /** Declares the nodes DEAD, unless one changed since it was read (then it is skipped). */
  async declareDead(nodeIds: readonly string[], nodes: readonly MediaNode[]): Promise<void> {
    for (const nodeId of nodeIds) {
      const node = nodes.find((n) => n.nodeId === nodeId);
      await this.attempt(`declaring ${nodeId} DEAD`, nodeId, async () => {
        if (node && !(await markDead(this.deps.registry, node, this.now))) {
          this.note("skipped", `node ${nodeId} changed: not marked DEAD`, nodeId);
        }
      });
    }
  }

  /**
   * Declares the nodes SILENT: out of placement, their streams and protection kept. A node that
   * sent a heartbeat since it was read is left as it is.
   */
  async declareSilent(nodeIds: readonly string[], nodes: readonly MediaNode[]): Promise<void> {
    for (const nodeId of nodeIds) {
      const node = nodes.find((n) => n.nodeId === nodeId);
      await this.attempt(`declaring ${nodeId} SILENT`, nodeId, async () => {
        if (!node) return;
        const outcome = await this.deps.registry.applyChange({
          nodeId,
          when: { states: [node.state], heartbeatAt: node.lastHeartbeatAt ?? null },
          set: { state: "SILENT", stateChangedAt: this.now, hasRoom: false },
        });
        if (!outcome.applied) this.note("skipped", `node ${nodeId} changed: not marked SILENT`, nodeId);
      });
    }
  }

  /** Drops the records of DEAD nodes whose instance is gone, and their secrets with them. */
  async forget(nodeIds: readonly string[]): Promise<void> {
    for (const nodeId of nodeIds) {
      await this.attempt(`forgetting ${nodeId}`, nodeId, async () => {
        if (await this.deps.registry.deleteNode(nodeId, ["DEAD"])) await this.deps.credentials.revoke(nodeId);
      });
    }
  }

  /** Registers instances whose launch event was missed, as the lifecycle path would have. */
  async register(instanceIds: readonly string[]): Promise<void> {
    for (const instanceId of instanceIds) {
      await this.attempt(`registering ${instanceId}`, instanceId, async () => {
        if (await registerNode(this.deps, instanceId, this.now)) {
          this.note("launch", `node ${instanceId} registered: its launch event was missed`, instanceId);
        }
      });
    }
  }

  /** Asks the cloud again for the addresses of nodes registered without one. */
  async locate(nodeIds: readonly string[]): Promise<void> {
    for (const nodeId of nodeIds) {
      await this.attempt(`locating ${nodeId}`, nodeId, async () => {
        const rtmpBaseUrl = await this.deps.addresses.rtmpBaseUrl(nodeId);
        if (rtmpBaseUrl) await this.deps.registry.applyChange({ nodeId, when: {}, set: { rtmpBaseUrl } });
      });
    }
  }

  /** Records the credential of nodes registered without one: the hash of the secret each already holds. */
  async credential(nodeIds: readonly string[]): Promise<void> {
    for (const nodeId of nodeIds) {
      await this.attempt(`recording the credential of ${nodeId}`, nodeId, async () => {
        const secret = await this.deps.credentials.issue(nodeId, newNodeSecret());
        await this.deps.registry.applyChange({
          nodeId,
          when: { credentialHash: null },
          set: { credentialHash: credentialHash(secret) },
        });
      });
    }
  }

  /** Takes DRAINING nodes back into service. */
  async undrain(nodeIds: readonly string[]): Promise<void> {
    for (const nodeId of nodeIds) {
      await this.attempt(`taking ${nodeId} back into service`, nodeId, async () => {
        await this.deps.registry.applyChange({
          nodeId,
          when: { states: ["DRAINING"] },
          set: { state: "ACTIVE", stateChangedAt: this.now },
        });
      });
    }
  }

  /** Raises the group's desired capacity, when the plan says so. */
  async raiseDesiredCapacity(desired: number | undefined): Promise<void> {
    if (desired === undefined) return;
    await this.attempt(`raising the desired capacity to ${desired}`, undefined, async () => {
      await this.deps.fleet.setDesiredCapacity(desired);
      this.desired = desired;
    });
  }

  /** Drains idle nodes, each only while it holds no slot; returns those drained, to terminate. */
  async drain(nodeIds: readonly string[]): Promise<string[]> {
    const drained: string[] = [];
    for (const nodeId of nodeIds) {
      await this.attempt(`draining ${nodeId}`, nodeId, async () => {
        const outcome = await this.deps.registry.applyChange({
          nodeId,
          when: { states: ["ACTIVE"], slotsEqual: 0 },
          set: { state: "DRAINING", stateChangedAt: this.now, hasRoom: false },
        });
        if (outcome.applied) drained.push(nodeId);
        else this.note("skipped", `node ${nodeId} got a stream: not drained`, nodeId);
      });
    }
    return drained;
  }

  /** Terminates dead instances without decrementing the desired capacity: the group launches others. */
  async replace(nodeIds: readonly string[]): Promise<void> {
    for (const nodeId of nodeIds.filter((id) => !instanceGone(this.instances.get(id)))) {
      await this.attempt(`replacing dead node ${nodeId}`, nodeId, async () => {
        await this.deps.fleet.setProtection([nodeId], false);
        await this.deps.fleet.terminate(nodeId, false);
        this.note("terminated", `terminated dead node ${nodeId}; the group launches its replacement`, nodeId);
      });
    }
  }

  /** Terminates drained and long-dead nodes, each checked empty again first. */
  async terminate(nodeIds: readonly string[]): Promise<void> {
    for (const nodeId of nodeIds) {
      await this.attempt(`terminating ${nodeId}`, nodeId, () => this.terminateIfEmpty(nodeId));
    }
  }

  /** Unprotects and terminates the node's instance, if the node is still empty and DRAINING or DEAD. */
  private async terminateIfEmpty(nodeId: string): Promise<void> {
    const { registry, fleet } = this.deps;
    const node = await registry.getNode(nodeId);
    const empty = node !== undefined && Object.keys(node.streams).length === 0;
    if (!node || !empty || (node.state !== "DRAINING" && node.state !== "DEAD")) {
      this.note("skipped", `node ${nodeId} is not empty or not draining: not terminated`, nodeId);
      return;
    }
    if (instanceGone(this.instances.get(nodeId))) return;
    await setProtection(this.deps, [nodeId], false);
    // Never below the group's minimum: then the group replaces the instance instead.
    const decrement = this.desired > this.group.min;
    await fleet.terminate(nodeId, decrement);
    if (decrement) this.desired--;
    if (node.state === "DRAINING") {
      await registry.applyChange({
        nodeId,
        when: { states: ["DRAINING"], slotsEqual: 0 },
        set: { state: "DEAD", stateChangedAt: this.now, hasRoom: false },
      });
    }
    const replaced = decrement ? "" : " (replaced: the group is at its minimum)";
    this.note("terminated", `terminated node ${nodeId}${replaced}`, nodeId);
  }

  private note(kind: FleetEventKind, message: string, nodeId?: string): void {
    this.events.push({ at: this.now, kind, nodeId, message });
  }

  /** Runs one action; a failure becomes an `error` event and the execution goes on. */
  private async attempt(what: string, nodeId: string | undefined, action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (error) {
      const { name, message } = error as Error;
      this.note("error", `${what} failed (${name}: ${message}); the next run retries`, nodeId);
    }
  }
}

/** Carries the plan out; returns the events of what happened beyond the plan's own. */
export async function carryOut(
  deps: NodeLifecycleDeps,
  plan: ScalingPlan,
  group: GroupState,
  nodes: readonly MediaNode[],
): Promise<FleetEvent[]> {
  const run = new Execution(deps, group);
  // 1. Protect first: a node carrying streams must never wait for the rest of the tick.
  await run.protect(plan.protect);
  // 2. Launches the heartbeat could not continue, and liveness.
  await run.continueLaunches(plan.continueLaunch);
  await run.declareDead(plan.markDead, nodes);
  await run.declareSilent(plan.silence, nodes);
  await run.forget(plan.forget);
  await run.register(plan.register);
  await run.locate(plan.locate);
  await run.credential(plan.credential);
  // 3. Capacity up.
  await run.undrain(plan.undrain);
  await run.raiseDesiredCapacity(plan.desiredCapacity);
  // 4. Capacity down: drain (only while empty), check again, unprotect, terminate that instance.
  const drained = await run.drain(plan.drain);
  await run.replace(plan.replace);
  await run.terminate([...plan.terminate, ...drained]);
  return run.events;
}
