/**
 * The registry's data model: media nodes and the stream slots they hold.
 *
 * A node record carries its own slots (reservations and live streams) so that "is there room" and
 * "take a slot" are one conditional write on one record: concurrent resolves can never put more on
 * a node than it has room for, and no separate counter can drift from the slots it counts.
 */

/**
 * Lifecycle of a media node: launching (PENDING), taking streams (ACTIVE), being scaled in
 * (DRAINING), silent while it carries streams and nothing says its machine is gone (SILENT: out
 * of placement, kept and protected), or gone (DEAD). Only ACTIVE nodes take new streams.
 */
export type NodeState = "PENDING" | "ACTIVE" | "DRAINING" | "SILENT" | "DEAD";

/** A stream slot is RESERVED by `resolve` and becomes LIVE when nginx-rtmp reports the publish. */
export type StreamState = "RESERVED" | "LIVE";

/** One stream held by a node: a reservation made by `resolve`, or a live publish. */
export interface StreamSlot {
  readonly state: StreamState;
  /** When the slot was taken (epoch ms). */
  readonly since: number;
  /** RESERVED only: from this time on (epoch ms) the reservation is ignored and may be swept. */
  readonly expiresAt?: number;
  /** LIVE only: nginx-rtmp's `clientid` of the publishing connection, to tell its `done` from a player's. */
  readonly clientId?: string;
  /**
   * LIVE only: since when the node's `rtmp_stat` (its heartbeat) no longer lists the stream (epoch
   * ms); the stream is removed once this is older than the reconcile grace period.
   */
  readonly missingSince?: number;
  /**
   * LIVE only: players admitted by `on_play` and not yet ended (absent: none). Kept with the slot
   * so that "under the cap" and "one more" are one conditional write (`NodeChange.viewers`).
   */
  readonly viewers?: number;
  /** LIVE only: when `viewers` last changed (epoch ms); absent: not since the slot was written. */
  readonly viewersChangedAt?: number;
}

/** A CPU reading of a node, with the number of streams it carried all through the reading's window. */
export interface CpuReading {
  /**
   * The node's rtmp nginx worker's CPU in percent of one core, 0-100, as its agent measures it: the
   * quantity `cpuThresholdPercent` is defined on (docs/NODE.md). Not the instance's CPUUtilization.
   */
  readonly percent: number;
  /** When the reading was taken (epoch ms). */
  readonly at: number;
  /**
   * How many streams the node carried over the window the reading averages: their average over
   * the window when the agent measures it, or those live all through the window.
   */
  readonly streams: number;
}

/** A node's latest CPU reading, and the one before it while that is recent (placement uses both). */
export interface CpuSample extends CpuReading {
  readonly previous?: CpuReading;
}

/**
 * How long a CPU reading is kept beside the next one (ms): two of the periods the agent reads over
 * (its heartbeat period). Older, it says nothing about the node's recent load.
 */
export function cpuReadingKeptMs(periodMs: number): number {
  return 2 * periodMs;
}

/**
 * The sample to store after a new reading: the reading itself, keeping the reading it replaces
 * when that one is at most `keepMs` old.
 */
export function nextCpuSample(current: CpuSample | undefined, reading: CpuReading, keepMs: number): CpuSample {
  if (!current || reading.at - current.at > keepMs || reading.at <= current.at) return reading;
  return { ...reading, previous: { percent: current.percent, at: current.at, streams: current.streams } };
}

/**
 * What a node's heartbeats taught about its CPU (`core/cpu-profile.ts` learns it): its CPU with no
 * stream, and the sums of a least-squares fit of the CPU of its other readings against the streams
 * they saw. Each reading adds its terms; older terms fade, so the profile follows a node whose
 * streams get heavier or lighter.
 */
export interface CpuProfile {
  /** The node's CPU with no stream (percent): the average of its readings that saw none. */
  readonly idlePercent?: number;
  /** How many readings with no stream `idlePercent` averages (capped: older ones fade). */
  readonly idleReadings: number;
  /** How many readings saw streams (faded): the terms of the sums below. */
  readonly readings: number;
  /** Σ streams over those readings. */
  readonly streams: number;
  /** Σ streams². */
  readonly streamsSquared: number;
  /** Σ CPU percent. */
  readonly percent: number;
  /** Σ CPU percent². */
  readonly percentSquared: number;
  /** Σ streams × CPU percent. */
  readonly streamsTimesPercent: number;
  /**
   * The cost a stream the fleet had learned when the scaler gave the node its start (percent): its
   * fit starts from this rather than `streamCpuCostPercent` (`withFleetStart`). Unset until then,
   * or while no node has settled readings.
   */
  readonly priorCostPercent?: number;
}

/** A media node (an EC2 instance on AWS, an nginx process in local mode) as the registry knows it. */
export interface MediaNode {
  /** EC2 instance id on AWS, `local-N` in local mode. */
  readonly nodeId: string;
  readonly state: NodeState;
  /** When the instance was launched (epoch ms): placement fills the oldest node first. */
  readonly launchedAt: number;
  /** When `state` last changed (epoch ms). */
  readonly stateChangedAt: number;
  /** Where cameras publish, without the stream name, e.g. `rtmp://203.0.113.7:1935/live`. */
  readonly rtmpBaseUrl: string;
  /** Latest CPU sample, from the node's agent (its heartbeats); absent until the first one arrives. */
  readonly cpu?: CpuSample;
  /** What the node's CPU readings taught so far: its idle CPU and what a stream costs above it. */
  readonly cpuProfile?: CpuProfile;
  /** Latest heartbeat from the node's agent (epoch ms). */
  readonly lastHeartbeatAt?: number;
  /** Stream slots by stream name. */
  readonly streams: Readonly<Record<string, StreamSlot>>;
  /** Last change to `streams` (epoch ms): a node holding no stream has been idle since then. */
  readonly streamsChangedAt: number;
  /** Whether the group's scale-in was last told to spare this instance. */
  readonly protectedFromScaleIn: boolean;
  /** The hash of the node's secret (`credentialHash`): issued at registration, void once the node is DEAD. */
  readonly credentialHash?: string;
  /**
   * Listed among the nodes with room (`Registry.nodesWithRoom`): set by the core's writes
   * (`room-index.ts`), so it may lag the node by a write or a heartbeat; true or absent.
   */
  readonly hasRoom?: boolean;
}

/**
 * The record of a node the control plane has just heard of (its launch hook, or the first heartbeat
 * of a node whose launch event was missed): PENDING until its agent reports nginx ready, holding nothing.
 */
export function pendingNode(
  nodeId: string,
  now: number,
  fields: Pick<MediaNode, "launchedAt" | "rtmpBaseUrl" | "protectedFromScaleIn" | "credentialHash">,
): MediaNode {
  return { nodeId, state: "PENDING", stateChangedAt: now, streams: {}, streamsChangedAt: now, ...fields };
}

/** The key of a publisher connection's tombstone (see `NodeChange.putEnded`). */
export function endedKey(clientId: string, stream: string): string {
  return `${clientId}/${stream}`;
}

/**
 * The node's slot of `stream`, if it holds one. Stream names are map keys: only the node's own keys
 * count, so a stream named `constructor` or `toString` is not found on every node.
 */
export function slotOf(node: MediaNode, stream: string): StreamSlot | undefined {
  return Object.hasOwn(node.streams, stream) ? node.streams[stream] : undefined;
}

/**
 * An empty map keyed by stream names, to fill by assignment: it has no prototype, so a stream
 * named `__proto__` is a key like any other instead of replacing the object's prototype.
 */
export function streamMap<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** True when the slot counts against the node's room at `now`: live, or reserved and not yet expired. */
export function slotHolds(slot: StreamSlot, now: number): boolean {
  return slot.state === "LIVE" || (slot.expiresAt ?? 0) > now;
}

/** True when the node holds a stream or a live reservation at `now`: it is occupied, and must not be scaled in. */
export function holdsAnySlot(node: MediaNode, now: number): boolean {
  return Object.values(node.streams).some((slot) => slotHolds(slot, now));
}

/** The names of the slots that count at `now`. */
export function heldStreams(node: MediaNode, now: number): string[] {
  return Object.entries(node.streams)
    .filter(([, slot]) => slotHolds(slot, now))
    .map(([name]) => name);
}

/**
 * How many live streams the node carried for the whole of a CPU sample's window, i.e. that were
 * live already at `windowStart`. A sample averages the CPU over its window: pairing it with streams
 * that arrived during the window would make a stream look cheaper than it is while the node fills.
 */
export function streamsLiveSince(node: MediaNode, windowStart: number, names?: readonly string[]): number {
  return (names ?? Object.keys(node.streams)).filter((name) => {
    const slot = slotOf(node, name);
    return slot?.state === "LIVE" && slot.since <= windowStart;
  }).length;
}

/** The names of reservations that expired by `now` and can be swept. */
export function expiredReservations(node: MediaNode, now: number): string[] {
  return Object.entries(node.streams)
    .filter(([, slot]) => !slotHolds(slot, now))
    .map(([name]) => name);
}

/** What a fleet event records: who decided or did what. */
export type FleetEventKind =
  // The lifecycle hooks, and the scaler's terminations.
  | "launch" // an instance launches: its node is registered PENDING
  | "warming" // an instance launches into the warm pool: prepared and stopped, not a node until it enters the group
  | "terminated" // an instance leaves: its node is DEAD
  | "boot-failed" // a node's bootstrap failed: its launch is abandoned, its node DEAD
  // The scaler's decisions.
  | "scale-out" // the desired capacity rises
  | "undrain" // a DRAINING node is taken back into service
  | "replace" // a dead instance is terminated so that the group, at its maximum, launches another
  | "drain" // an idle node is drained, to be terminated
  | "terminate" // a node DEAD for long is terminated
  | "dead" // a node whose machine is gone, or an empty silent one, is declared DEAD
  | "silent" // a node carrying streams fell silent with no sign its machine is gone: kept, out of placement
  | "breaker" // many nodes fell silent at once: the control plane is blamed, nothing is terminated for silence
  | "protect" // a node carrying streams is protected from scale-in
  | "ready" // an ACTIVE node's launch is let go on
  // Carrying the decisions out.
  | "skipped" // the registry changed under a step: the next run decides again
  | "error"; // a step failed: the next run retries

/** Something the scaler or the lifecycle did, kept for the operator's views. */
export interface FleetEvent {
  /** When it happened (epoch ms). */
  readonly at: number;
  readonly kind: FleetEventKind;
  readonly nodeId?: string;
  /** A sentence for people. */
  readonly message: string;
}

/** The fleet with one node as it now is (e.g. as a write that lost a race returned it). */
export function withNode(nodes: readonly MediaNode[], current: MediaNode): MediaNode[] {
  return nodes.map((n) => (n.nodeId === current.nodeId ? current : n));
}

/** A stream as the registry reports it: its slot and the node holding it. */
export interface StreamView extends StreamSlot {
  readonly stream: string;
  readonly nodeId: string;
}

/**
 * Finds the node holding `stream` at `now`, ignoring expired reservations. A live slot wins over a
 * reservation (a camera may publish elsewhere than where it was sent before the reservation goes).
 */
export function findStream(nodes: readonly MediaNode[], stream: string, now: number): StreamView | undefined {
  let found: StreamView | undefined;
  for (const node of nodes) {
    const slot = slotOf(node, stream);
    if (!slot || !slotHolds(slot, now)) continue;
    if (slot.state === "LIVE") return { ...slot, stream, nodeId: node.nodeId };
    found ??= { ...slot, stream, nodeId: node.nodeId };
  }
  return found;
}

/** All held streams of the fleet, by stream name then node. */
export function listStreams(nodes: readonly MediaNode[], now: number): StreamView[] {
  return nodes
    .flatMap((node) =>
      heldStreams(node, now).map((stream) => ({
        ...(slotOf(node, stream) as StreamSlot),
        stream,
        nodeId: node.nodeId,
      })),
    )
    .sort((a, b) => a.stream.localeCompare(b.stream) || a.nodeId.localeCompare(b.nodeId));
}
