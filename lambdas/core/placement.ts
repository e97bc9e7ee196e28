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

// Guards the comparison against float noise such as 78 + 2 * 1 = 79.99999999.
const EPSILON = 1e-9;

/**
 * The number of slots (streams + live reservations) at which the node is full: the fewest slots
 * whose estimated CPU reaches the threshold, capped by `maxStreamsPerNode`. A node holding fewer
 * slots than this has room for one more.
 */
export function slotLimit(node: MediaNode, config: FleetConfig): number {
  return slotsToThreshold(settledCpu(node, config), node.cpu?.streams ?? 0, streamCpuCost(node, config), config);
}

/** The slot limit of a node that has not reported its CPU yet (an empty node just launched). */
export function newNodeSlotLimit(config: FleetConfig): number {
  return slotsToThreshold(0, 0, config.streamCpuCostPercent, config);
}

function slotsToThreshold(cpu: number, streams: number, costPerStream: number, config: FleetConfig): number {
  const cap = config.maxStreamsPerNode ?? Number.POSITIVE_INFINITY;
  if (cpu >= config.cpuThresholdPercent - EPSILON) return 0;
  // The fewest slots at which the estimate reaches the threshold (the sample's stream count may be
  // an average over its window, so not a whole number).
  const reach = streams + (config.cpuThresholdPercent - cpu) / costPerStream;
  return Math.min(cap, Math.max(1, Math.ceil(reach - EPSILON)));
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
