/**
 * The registry port: what the control plane needs from its store. The DynamoDB adapter (AWS) and
 * the in-memory adapter (local mode, simulator) implement it with the same semantics, checked by
 * one contract test suite run against both.
 *
 * Every change to a node is a `NodeChange`: a set of conditions and the edits to make when they
 * all hold, applied in one atomic write or not at all. The domain decides what to change and
 * under which conditions; adapters only translate.
 *
 * Besides its own record, a change may touch two kinds of small records kept out of it, in the
 * same atomic write:
 * - stream claims: one per live stream name, fleet-wide, naming the node that carries it. A LIVE
 *   slot and its claim are written together, so two nodes can never both hold a name LIVE.
 * - tombstones: a publisher connection whose end was reported before its publish was recorded.
 *   They expire on their own and never grow the node's record, whatever a client sends.
 *
 * Apart from nodes, it notes the cameras refused for want of room (`noteWaiting`), one record per
 * stream name that stops counting at its time, so the scaler launches for them (D20 in
 * docs/ARCHITECTURE.md).
 */
import {
  type CpuProfile,
  type CpuSample,
  type FleetEvent,
  type MediaNode,
  type NodeState,
  type StreamSlot,
  type StreamState,
  slotOf,
} from "./model";

/** What a stream slot must look like for a change to apply. */
export type SlotCondition =
  | { readonly absent: true }
  | {
      readonly absent?: false;
      readonly state: StreamState;
      /** For RESERVED slots: the reservation seen, so a renewed one is not mistaken for it. */
      readonly expiresAt?: number;
      /** For LIVE slots: the publishing connection seen. */
      readonly clientId?: string;
      /** The slot's viewer count (absent counts as 0) is at least `atLeast` and below `below`. */
      readonly viewers?: ViewerRange;
    };

/** Bounds of a viewer count; either may be absent. */
export interface ViewerRange {
  readonly atLeast?: number;
  readonly below?: number;
}

/** A change to one stream's viewer count: `by` added (1 for a player in, -1 for one out), at `at`. */
export interface ViewerCount {
  readonly by: number;
  readonly at: number;
}

/**
 * The condition a slot (or its absence) must still meet for a change decided on it to apply. A
 * LIVE slot's viewer count is part of it: a write of the whole slot never undoes a player's count.
 */
export function unchangedSlot(slot: StreamSlot | undefined): SlotCondition {
  if (!slot) return { absent: true };
  const condition = { state: slot.state, expiresAt: slot.expiresAt, clientId: slot.clientId };
  if (slot.state !== "LIVE") return condition;
  const viewers = slot.viewers ?? 0;
  return { ...condition, viewers: { atLeast: viewers, below: viewers + 1 } };
}

/** True when a viewer count (absent: 0) is within the range. */
export function viewersWithin(count: number | undefined, range: ViewerRange): boolean {
  const viewers = count ?? 0;
  return (
    (range.atLeast === undefined || viewers >= range.atLeast) && (range.below === undefined || viewers < range.below)
  );
}

/** Conditions on one node record; all must hold. The record must exist. */
export interface NodeCondition {
  /** The node is in one of these states. */
  readonly states?: readonly NodeState[];
  /** The node's CPU sample is still the one taken at this time (null: the node has no sample). */
  readonly cpuAt?: number | null;
  /** The node's last heartbeat is still this one (null: the node never sent one). */
  readonly heartbeatAt?: number | null;
  /** The node's credential is still this one (null: it has none): the change is made in its name. */
  readonly credentialHash?: string | null;
  /** The node holds fewer than this many slots (expired reservations included). */
  readonly slotsBelow?: number;
  /** The node holds exactly this many slots (expired reservations included). */
  readonly slotsEqual?: number;
  /** Per stream name, what its slot must look like. */
  readonly streams?: Readonly<Record<string, SlotCondition>>;
  /** No tombstone of this node for these connection keys (`endedKey`) is still in force at `at`. */
  readonly notEnded?: { readonly keys: readonly string[]; readonly at: number };
}

/** Node fields a change may set. */
export type NodeFields = Partial<
  Pick<
    MediaNode,
    | "state"
    | "stateChangedAt"
    | "lastHeartbeatAt"
    | "protectedFromScaleIn"
    | "streamsChangedAt"
    | "rtmpBaseUrl"
    | "credentialHash"
  > & { cpu: CpuSample; cpuProfile: CpuProfile; hasRoom: boolean }
>;

/** An atomic, conditional change to one node record. */
export interface NodeChange {
  readonly nodeId: string;
  readonly when: NodeCondition;
  readonly set?: NodeFields;
  readonly putStreams?: Readonly<Record<string, StreamSlot>>;
  readonly removeStreams?: readonly string[];
  /** Tombstones of this node to record: connection key (`endedKey`) → until when it is in force (epoch ms). */
  readonly putEnded?: Readonly<Record<string, number>>;
  /**
   * Stream names this node claims fleet-wide, with the publishing client id: the change applies
   * only if each name is unclaimed or already this node's.
   */
  readonly claim?: Readonly<Record<string, string>>;
  /**
   * Viewer counts to change, by stream: each slot's `viewers` moves by `by` and its
   * `viewersChangedAt` becomes `at`. The change must also hold a condition on each of these slots
   * (they must exist), and may not put or remove them.
   */
  readonly viewers?: Readonly<Record<string, ViewerCount>>;
  /** Claims of this node to release; a name claimed by another node fails the change. */
  readonly unclaim?: readonly string[];
  /**
   * The node as the change was decided on. A store that cannot read a record back in the same
   * atomic write as its claims and tombstones answers with this node and the change's edits.
   */
  readonly basis?: MediaNode;
}

/** A live stream's claim: the node that carries it, fleet-wide. */
export interface StreamClaim {
  readonly stream: string;
  readonly nodeId: string;
  readonly clientId: string;
}

/** A camera refused for want of room, as the scaler counts it. */
export interface WaitingCamera {
  readonly stream: string;
  /** Until when it counts (epoch ms): a camera that stopped retrying stops counting then. */
  readonly until: number;
}

/** Which condition of a change failed. */
export type ChangeConflict =
  /** The node's record (its state, slots, samples) or its absence. */
  | "node"
  /** A tombstone of the connection is in force: its end was already reported. */
  | "ended"
  /** Another node claims one of the stream names. */
  | "claimed";

/**
 * The outcome of a change: the node as written, or `applied: false` when a condition failed, with
 * the node as it is now (when the record exists): a caller that lost a race decides again on it
 * without reading the fleet again. `claimedBy` names the node that holds a contested claim.
 */
export type ChangeOutcome =
  | { readonly applied: true; readonly node: MediaNode }
  | {
      readonly applied: false;
      readonly node?: MediaNode;
      readonly conflict: ChangeConflict;
      readonly claimedBy?: string;
    };

/**
 * The store refused a change to one record for a reason of its own, not a failed condition nor a
 * busy service (on DynamoDB: the record would outgrow the item size limit). Retrying the same
 * change cannot help; a caller that has another node to try should.
 */
export class ChangeRefusedError extends Error {
  constructor(
    readonly nodeId: string,
    reason: string,
  ) {
    super(`the registry refused a change of node ${nodeId}: ${reason}`);
    this.name = "ChangeRefusedError";
  }
}

/** The registry of media nodes and their stream slots. */
export interface Registry {
  /**
   * All node records. `consistent` asks for a strongly consistent read; without it a read may be
   * slightly stale, which is safe for choosing a candidate since every change re-checks its conditions.
   */
  listNodes(options?: { consistent?: boolean }): Promise<MediaNode[]>;
  /**
   * The first `limit` nodes marked `hasRoom`, in fill order (`byFillOrder`): what resolve and publish
   * read instead of the fleet, so that their cost does not grow with it. An index that may lag the
   * records (DynamoDB: a GSI, eventually consistent): every change re-checks its conditions.
   */
  nodesWithRoom(limit: number): Promise<MediaNode[]>;
  /** One node record, strongly consistent, or undefined. */
  getNode(nodeId: string): Promise<MediaNode | undefined>;
  /** Creates a node record; false if one with this id exists. */
  createNode(node: MediaNode): Promise<boolean>;
  /**
   * Applies the change if every condition holds; one atomic write (its claims and tombstones included).
   * @throws ChangeRefusedError when the store refuses the record's new content
   */
  applyChange(change: NodeChange): Promise<ChangeOutcome>;
  /** The claim of a stream name, if a node holds it live. */
  claimOf(stream: string): Promise<StreamClaim | undefined>;
  /** Deletes a node record if it is in one of `states`; false otherwise. */
  deleteNode(nodeId: string, states: readonly NodeState[]): Promise<boolean>;
  /**
   * Takes the named lease for `owner` until `now + ttlMs` if it is free or expired (or already
   * this owner's); false when someone else holds it.
   */
  acquireLease(name: string, owner: string, now: number, ttlMs: number): Promise<boolean>;
  /** Gives the lease back if `owner` holds it. */
  releaseLease(name: string, owner: string): Promise<void>;
  /**
   * Notes that the camera of `stream` waits for room until `until` (epoch ms). One record per
   * stream: a camera noted at each of its retries counts once, until its latest note's time.
   */
  noteWaiting(stream: string, until: number): Promise<void>;
  /**
   * The cameras still waiting at `now` (noted until after it), the first `limit` in stream name
   * order. Notes past their time are never listed, whenever the store gets round to deleting them.
   */
  waitingCameras(now: number, limit: number): Promise<WaitingCamera[]>;
  /** Records fleet events (kept for a week). */
  appendEvents(events: readonly FleetEvent[]): Promise<void>;
  /** The newest events first, at most `limit`. */
  recentEvents(limit: number): Promise<FleetEvent[]>;
}

/** How long fleet events are kept (ms). */
export const EVENT_RETENTION_MS = 7 * 24 * 3600 * 1000;

/**
 * The reference semantics of a condition (used by the in-memory adapter; the DynamoDB adapter
 * expresses the same in a ConditionExpression, and the contract tests hold both to it).
 */
export function conditionHolds(node: MediaNode | undefined, when: NodeCondition): node is MediaNode {
  if (!node) return false;
  if (when.states && !when.states.includes(node.state)) return false;
  if (when.cpuAt !== undefined && (node.cpu?.at ?? null) !== when.cpuAt) return false;
  if (when.heartbeatAt !== undefined && (node.lastHeartbeatAt ?? null) !== when.heartbeatAt) return false;
  if (when.credentialHash !== undefined && (node.credentialHash ?? null) !== when.credentialHash) return false;
  const slots = Object.keys(node.streams).length;
  if (when.slotsBelow !== undefined && !(slots < when.slotsBelow)) return false;
  if (when.slotsEqual !== undefined && slots !== when.slotsEqual) return false;
  for (const [name, expected] of Object.entries(when.streams ?? {})) {
    const slot = slotOf(node, name);
    if (expected.absent) {
      if (slot) return false;
      continue;
    }
    if (!slot || slot.state !== expected.state) return false;
    if (expected.expiresAt !== undefined && slot.expiresAt !== expected.expiresAt) return false;
    if (expected.clientId !== undefined && slot.clientId !== expected.clientId) return false;
    if (expected.viewers && !viewersWithin(slot.viewers, expected.viewers)) return false;
  }
  return true;
}

/** The node after a change's edits (pure; conditions are not checked here). */
export function applyEdits(node: MediaNode, change: NodeChange): MediaNode {
  const streams: Record<string, StreamSlot> = { ...node.streams, ...change.putStreams };
  for (const name of change.removeStreams ?? []) delete streams[name];
  // Built with fromEntries (not assignment), so that a stream named `__proto__` stays a key.
  const counted = Object.entries(change.viewers ?? {}).flatMap(([name, count]) => {
    const slot = Object.hasOwn(streams, name) ? streams[name] : undefined;
    return slot ? [[name, { ...slot, viewers: (slot.viewers ?? 0) + count.by, viewersChangedAt: count.at }]] : [];
  });
  const { hasRoom, ...edited } = { ...node, ...change.set, streams: { ...streams, ...Object.fromEntries(counted) } };
  // Not listed is absent, as a store with a sparse index keeps it.
  return hasRoom ? { ...edited, hasRoom } : edited;
}

/** True when a tombstone recorded until `until` still refuses a publish at `at`. */
export function tombstoneInForce(until: number | undefined, at: number): boolean {
  return until !== undefined && until > at;
}

/**
 * The node that stops a change from taking or releasing the claim of `stream`: a claim held by
 * another node; undefined when the name is unclaimed or the claim is the changing node's own.
 */
export function claimHolderAgainst(change: NodeChange, claim: StreamClaim | undefined): string | undefined {
  return claim && claim.nodeId !== change.nodeId ? claim.nodeId : undefined;
}
