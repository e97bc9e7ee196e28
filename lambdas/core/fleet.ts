/**
 * Node steps shared by the use cases and the scaler: a node's credential, protecting a node that
 * holds a slot, and declaring a node dead.
 */
import { credentialHash, matchesCredential } from "./credentials";
import { holdsAnySlot, type MediaNode, type NodeState, slotOf } from "./model";
import type { FleetPort } from "./ports";
import type { Registry } from "./registry";

/** What the node steps use. */
export interface FleetDeps {
  readonly registry: Registry;
  readonly fleet: FleetPort;
  /** The current time (epoch ms). */
  readonly now: () => number;
}

/** A node's credential, as its shim presents it on every request. */
export interface NodeCredential {
  readonly nodeId: string;
  readonly secret: string;
}

/** A request made in the name of a node that is not registered, is DEAD, or presented another secret. */
export class NodeRefusedError extends Error {
  constructor(readonly nodeId: string) {
    super(`node ${nodeId}: not registered, gone, or another secret`);
    this.name = "NodeRefusedError";
  }
}

/** The states in which a node's credential is good: every state but DEAD (gone, its secret revoked). */
export const CREDENTIAL_STATES: readonly NodeState[] = ["PENDING", "ACTIVE", "DRAINING", "SILENT"];

/** True when the node is registered, not DEAD, and its secret is the one presented. */
export function admits(node: MediaNode | undefined, credential: NodeCredential): node is MediaNode {
  return (
    node !== undefined &&
    node.nodeId === credential.nodeId &&
    CREDENTIAL_STATES.includes(node.state) &&
    matchesCredential(node.credentialHash, credential.secret)
  );
}

/** The node's record if it admits the credential. @throws NodeRefusedError otherwise */
export function admittedNode(node: MediaNode | undefined, credential: NodeCredential): MediaNode {
  if (!admits(node, credential)) throw new NodeRefusedError(credential.nodeId);
  return node;
}

/** The condition that a change is made in the name of this credential, still good when it applies. */
export function madeBy(credential: NodeCredential) {
  return { states: CREDENTIAL_STATES, credentialHash: credentialHash(credential.secret) } as const;
}

/** True when the node holds a stream or a live reservation but is not yet protected from scale-in. */
export function needsProtection(node: MediaNode, now: number): boolean {
  return !node.protectedFromScaleIn && node.state !== "DEAD" && holdsAnySlot(node, now);
}

/**
 * Sets the instances' scale-in protection, then records it on their nodes: the group first, so a
 * node record never claims a protection its instance lacks.
 */
export async function setProtection(
  deps: FleetDeps,
  nodeIds: readonly string[],
  protectedFromScaleIn: boolean,
): Promise<void> {
  await deps.fleet.setProtection(nodeIds, protectedFromScaleIn);
  for (const nodeId of nodeIds) {
    await deps.registry.applyChange({ nodeId, when: {}, set: { protectedFromScaleIn } });
  }
}

/**
 * Protects the node from scale-in if it needs it: called when a node gets its first reservation or
 * stream, so protection does not wait for the scaler's next run.
 */
export async function protectIfNeeded(deps: FleetDeps, node: MediaNode): Promise<boolean> {
  if (!needsProtection(node, deps.now())) return false;
  await setProtection(deps, [node.nodeId], true);
  return true;
}

/** How often a node is read again when it changes under a DEAD write that must happen. */
const DECLARE_DEAD_ATTEMPTS = 5;

/**
 * Declares the node DEAD whatever it does meanwhile (its instance is going: a terminate hook, a
 * failed boot), unless it is gone or DEAD already: read again and retried when it changes under
 * the write.
 */
export async function declareDead(registry: Registry, nodeId: string, now: number): Promise<void> {
  for (let attempt = 0; attempt < DECLARE_DEAD_ATTEMPTS; attempt++) {
    const node = await registry.getNode(nodeId);
    if (!node || node.state === "DEAD" || (await markDead(registry, node, now))) return;
  }
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
    set: { state: "DEAD", stateChangedAt: now, streamsChangedAt: now, hasRoom: false },
    removeStreams: Object.keys(node.streams),
    unclaim: Object.keys(node.streams).filter((name) => slotOf(node, name)?.state === "LIVE"),
    basis: node,
  });
  return outcome.applied;
}
