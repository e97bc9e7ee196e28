/**
 * Capacity and placement: how many streams a node may hold, and which node a new camera goes to.
 *
 * CPU samples lag: a burst of resolves lands long before the node's CPU shows the new streams. So
 * a node's room is counted in slots. Its latest sample says what the streams it had then cost;
 * each slot beyond those is estimated at the node's own CPU per stream (or the configured default
 * when the sample saw no stream), and the node is full once that estimate reaches the threshold.
 */
import type { FleetConfig } from "./config";
import { heldStreams, type MediaNode } from "./model";

/** The CPU one more stream is estimated to cost on this node (percent). */
export function streamCpuCost(node: MediaNode, config: FleetConfig): number {
  const sample = node.cpu;
  // The node's own CPU per stream includes its idle load, so it over-estimates: the safe side.
  if (sample && sample.streams > 0 && sample.percent > 0) return sample.percent / sample.streams;
  return config.streamCpuCostPercent;
}

/** The estimated CPU of the node if it carried `slots` streams (percent). */
export function estimatedCpu(node: MediaNode, slots: number, config: FleetConfig): number {
  const sample = node.cpu ?? { percent: 0, streams: 0 };
  return sample.percent + Math.max(0, slots - sample.streams) * streamCpuCost(node, config);
}

// Guards the comparison against float noise such as 78 + 2 * 1 = 79.99999999.
const EPSILON = 1e-9;

/**
 * The number of slots (streams + live reservations) at which the node is full: the fewest slots
 * whose estimated CPU reaches the threshold, capped by `maxStreamsPerNode`. A node holding fewer
 * slots than this has room for one more.
 */
export function slotLimit(node: MediaNode, config: FleetConfig): number {
  const cap = config.maxStreamsPerNode ?? Number.POSITIVE_INFINITY;
  const sample = node.cpu ?? { percent: 0, streams: 0 };
  if (sample.percent >= config.cpuThresholdPercent - EPSILON) return 0;
  const more = Math.ceil((config.cpuThresholdPercent - sample.percent) / streamCpuCost(node, config) - EPSILON);
  return Math.min(cap, sample.streams + Math.max(1, more));
}

/** True when the node cannot take one more stream at `now`. */
export function isFull(node: MediaNode, now: number, config: FleetConfig): boolean {
  return heldStreams(node, now).length >= slotLimit(node, config);
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
  return [...nodes].sort(byFillOrder).find((node) => node.state === "ACTIVE" && !isFull(node, now, config));
}
