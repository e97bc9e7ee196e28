/**
 * Capacity and placement: how many streams a node may hold, and which node a new camera goes to.
 *
 * A node holds at most the streams its CPU profile says reach the threshold (`cpu-profile.ts`: its
 * idle CPU and the cost of a stream above it, learned over all its readings), so one noisy reading
 * can neither let a stream in that the node has no room for nor keep it there. CPU samples lag too:
 * a burst of resolves lands long before the node's CPU shows the new streams. So a node's room is
 * also counted in slots against its latest sample: each slot beyond the streams the sample saw is
 * estimated at the profile's cost a stream, and the node is full once that estimate reaches the
 * threshold, whichever comes first.
 */
import type { FleetConfig } from "./config";
import { fleetProfile, idleCpu, streamCap, streamCpuCost, streamsAtThreshold } from "./cpu-profile";
import { heldStreams, type MediaNode } from "./model";

/**
 * The CPU the node runs at with the streams of its latest sample: the latest reading, or the
 * reading before it carried forward to as many streams when that is higher. CPU readings are
 * noisy; one that happens to read low must not open room that the next one takes back, so a
 * lower CPU is believed only once two readings in a row show it.
 */
export function settledCpu(node: MediaNode, config: FleetConfig): number {
  const sample = node.cpu;
  if (!sample) return 0;
  const previous = sample.previous;
  if (!previous) return sample.percent;
  const carried = previous.percent + (sample.streams - previous.streams) * streamCpuCost(node, config);
  return Math.max(sample.percent, carried);
}

/**
 * The estimated CPU of the node if it carried `slots` streams (percent): the settled CPU, plus (or
 * minus) the cost of the streams beyond (or short of) those its sample was measured with.
 */
export function estimatedCpu(node: MediaNode, slots: number, config: FleetConfig): number {
  const streams = node.cpu?.streams ?? 0;
  return Math.max(0, settledCpu(node, config) + (slots - streams) * streamCpuCost(node, config));
}

/**
 * The number of slots (streams + live reservations) at which the node is full: its profile's cap,
 * or fewer when its latest sample plus the cost of the slots beyond it reaches the threshold, and
 * never more than `maxStreamsPerNode`. A node holding fewer slots than this has room for one more.
 */
export function slotLimit(node: MediaNode, config: FleetConfig): number {
  const cost = streamCpuCost(node, config);
  return Math.min(
    config.maxStreamsPerNode ?? Number.POSITIVE_INFINITY,
    streamCap(idleCpu(node), cost, config),
    streamsAtThreshold(settledCpu(node, config), node.cpu?.streams ?? 0, cost, config),
  );
}

/**
 * The slot limit of a node that has not reported its CPU yet (an empty node just launched): what the
 * fleet's profile (`fleetProfile`) says a node of it holds, as the new node inherits that profile.
 */
export function newNodeSlotLimit(nodes: readonly MediaNode[], config: FleetConfig): number {
  const cap = config.maxStreamsPerNode ?? Number.POSITIVE_INFINITY;
  const fleet = fleetProfile(nodes);
  return Math.min(cap, streamCap(fleet.idlePercent ?? 0, fleet.costPercent ?? config.streamCpuCostPercent, config));
}

/** True when the node cannot take one more stream at `now`. */
export function isFull(node: MediaNode, now: number, config: FleetConfig): boolean {
  return heldStreams(node, now).length >= slotLimit(node, config);
}

/**
 * True when a new camera may go to the node: it is ACTIVE and not full at `now`, and, unless it is
 * listed among the nodes with room already, has `reopenSlots` free (or its whole limit, if less).
 * Once full, a node reopens on room for several cameras, not one: with one, every stream that ends
 * on a full node and every CPU reading a stream's worth low makes it first in fill order again for
 * a single camera, and the fixed ingest address (D18) would move back and forth, each move refusing
 * the cameras that arrive while the load balancer follows (docs/BENCHMARKS.md, "Fixed ingest").
 */
export function hasRoom(node: MediaNode, now: number, config: FleetConfig): boolean {
  if (node.state !== "ACTIVE") return false;
  const needed = node.hasRoom ? 1 : slotsToReopen(node, config);
  return slotsLeft(node, now, config) >= needed;
}

/** The free slots a node not listed among the nodes with room needs to take cameras again. */
export function slotsToReopen(node: MediaNode, config: FleetConfig): number {
  return Math.max(1, Math.min(config.reopenSlots, slotLimit(node, config)));
}

/** The slots the node may still fill at `now` (negative when a CPU sample shows it past its limit). */
export function slotsLeft(node: MediaNode, now: number, config: FleetConfig): number {
  return slotLimit(node, config) - heldStreams(node, now).length;
}

/** Fill order: the oldest node first, node id breaking ties so that every caller agrees. */
export function byFillOrder(a: MediaNode, b: MediaNode): number {
  return a.launchedAt - b.launchedAt || a.nodeId.localeCompare(b.nodeId);
}

/**
 * Placement: the oldest ACTIVE node that is not full, or undefined when there is no room anywhere.
 * PENDING, DRAINING and DEAD nodes are never chosen.
 */
export function chooseNode(nodes: readonly MediaNode[], now: number, config: FleetConfig): MediaNode | undefined {
  return [...nodes].sort(byFillOrder).find((node) => hasRoom(node, now, config));
}
