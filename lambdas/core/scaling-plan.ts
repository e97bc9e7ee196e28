/**
 * The scaling plan: from the registry's nodes, the group's instances and the policy, what the
 * scaler should do now, decided by a pure function (`decideScaling`); `scaling-execution.ts`
 * carries it out. The Lambda scaler, local mode and the simulator all run this one function.
 *
 * Policy (DESIGN.md section 6):
 * - Scale-out keeps `bufferNodes` empty nodes ready or launching beyond the nodes in use
 *   (`max(minNodes, inUse) + bufferNodes`); with `bufferNodes: 0`, one node is launched once every
 *   node in use is full. Launching nodes count, so nothing is launched twice. Bounded by max.
 *   With `spareLeadSeconds`, the spare grows with the recent arrivals (`arrivalSpare`).
 * - Protection: every node holding a stream or a live reservation is protected from scale-in.
 * - Scale-in: only an ACTIVE node holding nothing, idle for `scaleInIdleSeconds`, beyond what the
 *   policy wants, newest first: it is drained (DRAINING, which resolve skips) and then terminated
 *   by instance id with the desired count decremented. The group's own scale-in is never used.
 * - Liveness: an ACTIVE or DRAINING node silent for 4 heartbeat periods is DEAD and its streams are
 *   removed; a DEAD node whose instance is still in the group is terminated after 4 more periods
 *   (it may come back within them); a DEAD node whose instance is gone is forgotten.
 */
import { DEAD_AFTER_HEARTBEATS, type FleetConfig } from "./config";
import { type GroupState, instanceGone } from "./group";
import {
  expiredReservations,
  type FleetEvent,
  type FleetEventKind,
  heldStreams,
  holdsAnySlot,
  type MediaNode,
} from "./model";
import { byFillOrder, isFull, newNodeSlotLimit, slotLimit } from "./placement";

/** Counts behind a plan, for logs, events and the simulator. */
export interface ScalingSummary {
  /** ACTIVE nodes holding a stream or a reservation, or full. */
  readonly inUse: number;
  /** ACTIVE nodes, in use or not. */
  readonly active: number;
  /** Nodes booting: PENDING nodes, instances not yet registered, and capacity not yet launched. */
  readonly launching: number;
  /** Nodes the policy wants ready or launching. */
  readonly wanted: number;
  /** Whether every node in use is full. */
  readonly allInUseFull: boolean;
  /** Empty nodes the policy wants beyond those in use. */
  readonly spare: number;
}

/** What the scaler should do now. */
export interface ScalingPlan {
  /** The group's new desired capacity, when it must rise (it is never lowered this way). */
  readonly desiredCapacity?: number;
  /** Instances to protect from scale-in: they hold streams or reservations. */
  readonly protect: readonly string[];
  /** Nodes to declare DEAD (their streams leave the registry). */
  readonly markDead: readonly string[];
  /** DRAINING nodes to take back into service (capacity is needed, or a stream appeared on them). */
  readonly undrain: readonly string[];
  /** ACTIVE idle nodes to drain and then terminate. */
  readonly drain: readonly string[];
  /** Instances to terminate with the desired count decremented: drained and empty, or long dead. */
  readonly terminate: readonly string[];
  /**
   * Dead instances to terminate without decrementing, so the group launches their replacements:
   * capacity is needed and the group is at its maximum.
   */
  readonly replace: readonly string[];
  /** DEAD node records whose instance is gone. */
  readonly forget: readonly string[];
  /**
   * ACTIVE nodes whose instance still waits in the launch lifecycle hook: the heartbeat that made
   * them ACTIVE could not continue the launch, so the scaler does.
   */
  readonly continueLaunch: readonly string[];
  readonly summary: ScalingSummary;
  /** One event for each decision, for the operator. */
  readonly events: readonly FleetEvent[];
}

/** What the decision reads. */
export interface ScalingInput {
  readonly nodes: readonly MediaNode[];
  readonly group: GroupState;
  readonly config: FleetConfig;
  /** The current time (epoch ms). */
  readonly now: number;
}

/** Time after which a silent node is DEAD (ms). */
export function deadAfterMs(config: FleetConfig): number {
  return DEAD_AFTER_HEARTBEATS * config.heartbeatSeconds * 1000;
}

/** When the node last showed life: its last heartbeat, or its last state change if it never sent one. */
export function lastSignOfLife(node: MediaNode): number {
  return node.lastHeartbeatAt ?? node.stateChangedAt;
}

/** Since when a node has held nothing (epoch ms); undefined while it holds a stream or reservation. */
export function idleSince(node: MediaNode, now: number): number | undefined {
  if (holdsAnySlot(node, now)) return undefined;
  const expiries = expiredReservations(node, now).map((name) => node.streams[name]?.expiresAt ?? 0);
  return Math.max(node.streamsChangedAt, node.stateChangedAt, ...expiries);
}

/**
 * The empty nodes that the recent arrivals call for (`spareLeadSeconds`; 0 when it is 0): the
 * cameras that took a slot over the last `spareLeadSeconds` are expected again over the next as
 * many, which is about how long a new node takes to be ready. Those the nodes in use have no room
 * for need empty nodes, at the slots a node holds before its first CPU reading.
 * @param alive the nodes not DEAD
 * @param inUse the ACTIVE nodes holding something or full
 */
export function arrivalSpare(
  alive: readonly MediaNode[],
  inUse: readonly MediaNode[],
  now: number,
  config: FleetConfig,
): number {
  if (config.spareLeadSeconds === 0) return 0;
  const since = now - config.spareLeadSeconds * 1000;
  const arrivals = alive
    .flatMap((node) => heldStreams(node, now).map((name) => node.streams[name]?.since ?? 0))
    .filter((at) => at >= since).length;
  const room = inUse.reduce(
    (sum, node) => sum + Math.max(0, slotLimit(node, config) - heldStreams(node, now).length),
    0,
  );
  return Math.ceil(Math.max(0, arrivals - room) / newNodeSlotLimit(config));
}

/** Decides what the scaler should do now (pure). */
export function decideScaling({ nodes, group, config, now }: ScalingInput): ScalingPlan {
  const events: FleetEvent[] = [];
  const note = (kind: FleetEventKind, message: string, nodeId?: string) =>
    events.push({ at: now, kind, nodeId, message });
  const instances = new Map(group.instances.map((i) => [i.instanceId, i]));
  const registered = new Set(nodes.map((n) => n.nodeId));
  const deadAfter = deadAfterMs(config);

  // Liveness.
  const markDead: string[] = [];
  for (const node of nodes) {
    if (node.state === "DEAD") continue;
    const instance = instances.get(node.nodeId);
    if (instanceGone(instance)) {
      markDead.push(node.nodeId);
      note("dead", `node ${node.nodeId} is DEAD: its instance left the group`, node.nodeId);
    } else if (node.state !== "PENDING" && now - lastSignOfLife(node) > deadAfter) {
      markDead.push(node.nodeId);
      const silent = Math.round((now - lastSignOfLife(node)) / 1000);
      note("dead", `node ${node.nodeId} is DEAD: no heartbeat for ${silent} s`, node.nodeId);
    }
  }
  const forget: string[] = [];
  const terminate: string[] = [];
  for (const node of nodes.filter((n) => n.state === "DEAD")) {
    const instance = instances.get(node.nodeId);
    if (instanceGone(instance)) {
      forget.push(node.nodeId);
    } else if (now - lastSignOfLife(node) > 2 * deadAfter) {
      terminate.push(node.nodeId);
      note("terminate", `terminating dead node ${node.nodeId}`, node.nodeId);
    }
  }
  const alive = nodes.filter((n) => n.state !== "DEAD" && !markDead.includes(n.nodeId));

  // Capacity.
  const active = alive.filter((n) => n.state === "ACTIVE");
  const inUse = active.filter((n) => holdsAnySlot(n, now) || isFull(n, now, config));
  const allInUseFull = inUse.length > 0 && inUse.every((n) => isFull(n, now, config));
  const liveInstances = group.instances.filter((i) => !instanceGone(i));
  const unregisteredBooting = liveInstances.filter((i) => !registered.has(i.instanceId)).length;
  const notYetLaunched = Math.max(0, group.desired - liveInstances.length);
  const launching = alive.filter((n) => n.state === "PENDING").length + unregisteredBooting + notYetLaunched;
  const maxNodes = Math.min(config.maxNodes, group.max);
  const spare = Math.max(config.bufferNodes, allInUseFull ? 1 : 0, arrivalSpare(alive, inUse, now, config));
  const wanted = Math.min(maxNodes, Math.max(config.minNodes, inUse.length) + spare);
  const serving = active.length + launching;
  const summary: ScalingSummary = {
    inUse: inUse.length,
    active: active.length,
    launching,
    wanted,
    allInUseFull,
    spare,
  };

  // DRAINING nodes that hold something must not be terminated: back into service.
  const draining = alive.filter((n) => n.state === "DRAINING");
  const undrain = draining.filter((n) => holdsAnySlot(n, now)).map((n) => n.nodeId);
  for (const nodeId of undrain) note("undrain", `node ${nodeId} holds a stream again: back in service`, nodeId);

  let desiredCapacity: number | undefined;
  const drain: string[] = [];
  let deficit = wanted - serving - undrain.length;
  if (deficit > 0) {
    // Capacity is needed: first take back nodes that were about to leave.
    for (const node of draining.filter((n) => !undrain.includes(n.nodeId)).sort(byFillOrder)) {
      if (deficit <= 0) break;
      undrain.push(node.nodeId);
      deficit--;
      note("undrain", `node ${node.nodeId} is needed again: back in service`, node.nodeId);
    }
  }
  const replace: string[] = [];
  if (deficit > 0 && group.desired + deficit > group.max) {
    // At the group's maximum, dead instances hold places that live ones need: replace them now.
    const deadInGroup = nodes
      .filter((n) => n.state === "DEAD" || markDead.includes(n.nodeId))
      .filter((n) => !instanceGone(instances.get(n.nodeId)))
      .map((n) => n.nodeId);
    for (const nodeId of deadInGroup.slice(0, deficit - Math.max(0, group.max - group.desired))) {
      replace.push(nodeId);
      deficit--;
      note("replace", `replacing dead node ${nodeId}: the group is at its maximum`, nodeId);
    }
    terminate.splice(0, terminate.length, ...terminate.filter((id) => !replace.includes(id)));
  }
  if (deficit > 0) {
    const desired = Math.min(group.max, group.desired + deficit);
    if (desired > group.desired) {
      desiredCapacity = desired;
      note(
        "scale-out",
        `desired capacity ${group.desired} → ${desired}: ${inUse.length} in use, ${serving} ready or launching, policy wants ${wanted}`,
      );
    }
  } else {
    // Only nodes in service count here: a node still booting may yet fail, so nothing is drained for it.
    const excess = active.length + undrain.length - wanted;
    const candidates = active
      .filter((n) => idleSince(n, now) !== undefined && !isFull(n, now, config))
      .filter((n) => now - (idleSince(n, now) as number) >= config.scaleInIdleSeconds * 1000)
      .filter((n) => instances.get(n.nodeId)?.lifecycleState === "InService")
      .sort((a, b) => byFillOrder(b, a));
    for (const node of candidates.slice(0, Math.max(0, excess))) {
      drain.push(node.nodeId);
      const idle = Math.round((now - (idleSince(node, now) as number)) / 1000);
      note("drain", `draining node ${node.nodeId}: idle for ${idle} s, policy wants ${wanted}`, node.nodeId);
    }
  }
  // Drained nodes that are empty (from an earlier tick whose termination did not go through).
  for (const node of draining) {
    if (!undrain.includes(node.nodeId) && !holdsAnySlot(node, now)) terminate.push(node.nodeId);
  }

  const protect = alive
    .filter((n) => holdsAnySlot(n, now))
    .filter((n) => {
      const instance = instances.get(n.nodeId);
      return instance !== undefined && !instance.protectedFromScaleIn;
    })
    .map((n) => n.nodeId);
  for (const nodeId of protect) note("protect", `protecting node ${nodeId}: it carries streams`, nodeId);

  const continueLaunch = alive
    .filter((n) => n.state === "ACTIVE" && instances.get(n.nodeId)?.lifecycleState === "Pending:Wait")
    .map((n) => n.nodeId);
  for (const nodeId of continueLaunch) note("ready", `node ${nodeId} is ACTIVE: continuing its launch`, nodeId);

  return {
    desiredCapacity,
    protect,
    markDead,
    undrain,
    drain,
    terminate,
    replace,
    forget,
    continueLaunch,
    summary,
    events,
  };
}
