/**
 * The nodes with room (D16 in docs/ARCHITECTURE.md): resolve and publish read the first few nodes
 * the registry lists as having room (`Registry.nodesWithRoom`, in fill order) instead of the whole
 * fleet, so that their cost does not grow with it. A node's listing (`MediaNode.hasRoom`) is written
 * by the core: in the same conditional write as a change decided on the node (its `basis`), or by a
 * repair right after a change that was not; the scaler's tick repairs every node it reads.
 *
 * The listing is a hint. A node listed without room costs a failed conditional write (the slot's
 * conditions still guard capacity); a node with room left unlisted is passed over in fill order until
 * the next write to it, its next heartbeat or the next scaler tick lists it again.
 */
import type { FleetConfig } from "./config";
import type { MediaNode } from "./model";
import { hasRoom } from "./placement";
import { applyEdits, type ChangeOutcome, type NodeChange, type Registry } from "./registry";

/**
 * How many nodes with room resolve and publish read: the one filling, and a few behind it for when
 * a burst fills it (or the index lags), before they read the index again.
 */
export const ROOM_READ_LIMIT = 4;

/** The change with the node's listing set as the node will be once it applies (when decided on its basis). */
export function withListing(change: NodeChange, now: number, config: FleetConfig): NodeChange {
  if (!change.basis) return change;
  const after = applyEdits(change.basis, change);
  return { ...change, set: { ...change.set, hasRoom: hasRoom(after, now, config) } };
}

/**
 * The change that lists or unlists the node as it is, guarded by what that was decided on (its
 * state, CPU sample and slot count); undefined when its listing is right.
 */
export function listingRepair(node: MediaNode, now: number, config: FleetConfig): NodeChange | undefined {
  const listed = hasRoom(node, now, config);
  if ((node.hasRoom ?? false) === listed) return undefined;
  return {
    nodeId: node.nodeId,
    when: { states: [node.state], cpuAt: node.cpu?.at ?? null, slotsEqual: Object.keys(node.streams).length },
    set: { hasRoom: listed },
    basis: node,
  };
}

/**
 * Applies a change and keeps the node's listing right: in the same write when the change carries
 * its basis, else (or when the basis was stale) by a repair of the node as written. A repair that
 * loses a race leaves the listing to the write that won it.
 */
export async function applyListed(
  registry: Registry,
  change: NodeChange,
  now: number,
  config: FleetConfig,
): Promise<ChangeOutcome> {
  const outcome = await registry.applyChange(withListing(change, now, config));
  const repair = outcome.applied ? listingRepair(outcome.node, now, config) : undefined;
  if (repair) await registry.applyChange(repair);
  return outcome;
}
