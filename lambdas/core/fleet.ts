/**
 * Node lifecycle steps shared by the handlers, the scaler and local mode: protection from the
 * publish path, declaring a node dead, and the answers to the group's lifecycle hooks.
 */
import { type FleetEvent, heldStreams, type MediaNode } from "./model";
import type { FleetPort } from "./ports";
import type { Registry } from "./registry";

/** What the lifecycle steps use. */
export interface FleetDeps {
  readonly registry: Registry;
  readonly fleet: FleetPort;
  /** The current time (epoch ms). */
  readonly now: () => number;
}

/** True when the node holds a stream or a live reservation but is not yet protected from scale-in. */
export function needsProtection(node: MediaNode, now: number): boolean {
  return !node.protectedFromScaleIn && node.state !== "DEAD" && heldStreams(node, now).length > 0;
}

/**
 * Protects the node from scale-in if it needs it: called when a node gets its first reservation or
 * stream, so protection does not wait for the scaler's next run.
 */
export async function protectIfNeeded(deps: FleetDeps, node: MediaNode): Promise<boolean> {
  if (!needsProtection(node, deps.now())) return false;
  await deps.fleet.setProtection([node.nodeId], true);
  await deps.registry.applyChange({ nodeId: node.nodeId, when: {}, set: { protectedFromScaleIn: true } });
  return true;
}

/**
 * Declares the node DEAD and removes its streams, unless it sent a heartbeat or changed since it was
 * read (then it is not dead after all, or the caller decides again).
 */
export async function markDead(registry: Registry, node: MediaNode, now: number): Promise<boolean> {
  const outcome = await registry.applyChange({
    nodeId: node.nodeId,
    when: {
      states: [node.state],
      heartbeatAt: node.lastHeartbeatAt ?? null,
      slotsEqual: Object.keys(node.streams).length,
    },
    set: { state: "DEAD", stateChangedAt: now, streamsChangedAt: now },
    removeStreams: Object.keys(node.streams),
  });
  return outcome.applied;
}

/**
 * The launch lifecycle hook fired: the node is registered PENDING (its agent reports it ready
 * later, which lets the launch continue). A record that exists already is left as it is.
 */
export async function onInstanceLaunching(
  deps: FleetDeps,
  instanceId: string,
  launchedAt: number,
): Promise<FleetEvent> {
  const now = deps.now();
  const created = await deps.registry.createNode({
    nodeId: instanceId,
    state: "PENDING",
    launchedAt,
    stateChangedAt: now,
    rtmpBaseUrl: "",
    streams: {},
    streamsChangedAt: now,
    protectedFromScaleIn: true, // the group launches new instances protected
    ended: {},
  });
  return {
    at: now,
    kind: "launch",
    nodeId: instanceId,
    message: created ? `node ${instanceId} launching` : `node ${instanceId} launching (already registered)`,
  };
}

/**
 * The terminate lifecycle hook fired (scale-in, health replacement, Spot, a person): the node is
 * DEAD, its streams leave the registry, and the termination continues.
 */
export async function onInstanceTerminating(deps: FleetDeps, instanceId: string): Promise<FleetEvent> {
  const now = deps.now();
  for (let attempt = 0; attempt < 5; attempt++) {
    const node = await deps.registry.getNode(instanceId);
    if (!node || node.state === "DEAD" || (await markDead(deps.registry, node, now))) break;
  }
  await deps.fleet.completeTermination(instanceId);
  return { at: now, kind: "terminated", nodeId: instanceId, message: `node ${instanceId} terminating: DEAD` };
}
