/**
 * The stream lifecycle: resolve (reserve a slot), publish (nginx-rtmp `on_publish`) and done
 * (`on_done` / `on_publish_done`). Each reads the registry, decides with the pure functions of this
 * package, and writes one conditional change; when a concurrent writer got there first the
 * condition fails, the failed write returns the node as it now is, and the step is decided again.
 * Resolve and publish read a bounded number of nodes whatever the fleet's size: the first few
 * nodes with room (`room-index.ts`), and the stream's claim or the publishing node by key.
 */
import type { FleetConfig } from "./config";
import { admittedNode, madeBy, type NodeCredential } from "./fleet";
import {
  endedKey,
  expiredReservations,
  findStream,
  type MediaNode,
  type StreamSlot,
  type StreamView,
  slotOf,
  streamMap,
  withNode,
} from "./model";
import { chooseNode, isFull, slotLimit } from "./placement";
import {
  type ChangeOutcome,
  ChangeRefusedError,
  type NodeChange,
  type NodeCondition,
  type Registry,
  type SlotCondition,
  unchangedSlot,
} from "./registry";
import { applyListed, listingRepair, ROOM_READ_LIMIT } from "./room-index";

/** What the stream lifecycle needs: the registry, the clock and the policy. */
export interface StreamDeps {
  readonly registry: Registry;
  readonly config: FleetConfig;
  /** The current time (epoch ms). */
  readonly now: () => number;
}

/** How often a step is decided again after losing a race before it reports contention. */
export const MAX_ATTEMPTS = 8;

/** How long a tombstone is in force: past any callback still in flight. */
export const ENDED_RETENTION_MS = 10 * 60 * 1000;

/**
 * The change that adds one slot to `node`: it applies only while the node is ACTIVE, its CPU sample
 * is the one the limit was computed from, and the node holds fewer slots than the limit. Expired
 * reservations are swept in the same write (and counted out of the limit check).
 */
function takeSlot(node: MediaNode, stream: string, slot: StreamSlot, now: number, config: FleetConfig): NodeChange {
  const expired = expiredReservations(node, now).filter((name) => name !== stream);
  const streams = streamMap<SlotCondition>();
  for (const name of [stream, ...expired]) streams[name] = unchangedSlot(slotOf(node, name));
  const when: NodeCondition = {
    states: ["ACTIVE"],
    cpuAt: node.cpu?.at ?? null,
    slotsBelow: slotLimit(node, config) + expired.length + (slotOf(node, stream) ? 1 : 0),
    streams,
  };
  return {
    nodeId: node.nodeId,
    when,
    putStreams: { [stream]: slot },
    removeStreams: expired,
    set: { streamsChangedAt: now },
    basis: node,
  };
}

/** Where a stream was placed. */
export interface Placement {
  readonly stream: StreamView;
  /** The node holding the stream, as last read or written. */
  readonly node: MediaNode;
  /** True when this call made the reservation; false when the stream was already placed. */
  readonly created: boolean;
}

/** The outcome of a resolve, with the nodes whose record the store refused to change on the way. */
export type ResolveOutcome = (
  | ({ readonly kind: "placed" } & Placement)
  | { readonly kind: "no_room" }
  | { readonly kind: "contended" }
) & { readonly refusedNodes: readonly string[] };

/**
 * Resolve: where should `stream` publish? A stream already live answers with its node (its claim
 * names it), as does one reserved on a node with room; otherwise one slot is reserved on the oldest
 * ACTIVE node with room, for `reservationTtlSeconds`. `no_room` when no node listed with room has
 * any: the caller asks for a scale-out. A node whose record the store refuses to change (not a lost
 * race: DynamoDB's item size limit) is passed over for the next one in fill order, and named in the
 * outcome for the operator.
 */
export async function resolveStream(deps: StreamDeps, stream: string): Promise<ResolveOutcome> {
  const { registry, config } = deps;
  const refusedNodes: string[] = [];
  const usable = (all: readonly MediaNode[]) => all.filter((n) => !refusedNodes.includes(n.nodeId));
  // One round trip: the stream's claim and the first nodes with room, read side by side. The
  // index may lag: every write re-checks its conditions, so a stale view only costs a retry.
  const [claim, listed] = await Promise.all([registry.claimOf(stream), registry.nodesWithRoom(ROOM_READ_LIMIT)]);
  const holder = claim && (await registry.getNode(claim.nodeId));
  let nodes = holder ? [holder, ...listed.filter((n) => n.nodeId !== holder.nodeId)] : listed;
  // A burst fills one node after another: allow a lost race per node read, and a few more.
  let attempts = MAX_ATTEMPTS + nodes.length;
  let fresh = false;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const now = deps.now();
    const existing = findStream(nodes, stream, now);
    if (existing) {
      const node = nodes.find((n) => n.nodeId === existing.nodeId) as MediaNode;
      return { kind: "placed", stream: existing, node, created: false, refusedNodes };
    }
    const node = chooseNode(usable(nodes), now, config);
    if (!node) {
      if (fresh) return { kind: "no_room", refusedNodes };
      // "No room" is decided on a read of the index just taken: the nodes read may have filled
      // meanwhile (and been unlisted), and others may have been listed since.
      nodes = await registry.nodesWithRoom(ROOM_READ_LIMIT);
      attempts += nodes.length;
      fresh = true;
      continue;
    }
    fresh = false;
    const slot: StreamSlot = { state: "RESERVED", since: now, expiresAt: now + config.reservationTtlSeconds * 1000 };
    const outcome = await takeOrRefuse(deps, takeSlot(node, stream, slot, now, config), now);
    if (outcome === "refused") {
      refusedNodes.push(node.nodeId);
      continue;
    }
    if (outcome.applied) {
      const placed: StreamView = { ...slot, stream, nodeId: node.nodeId };
      return { kind: "placed", stream: placed, node: outcome.node, created: true, refusedNodes };
    }
    // Lost a race: decide again on the node as it now is (listed right if it was not), or on a fresh read.
    if (outcome.node) {
      nodes = withNode(nodes, outcome.node);
      const repair = listingRepair(outcome.node, now, config);
      if (repair) await registry.applyChange(repair);
    } else {
      nodes = await registry.nodesWithRoom(ROOM_READ_LIMIT);
    }
  }
  return { kind: "contended", refusedNodes };
}

/** The change's outcome, or "refused" when the store refuses the node's record itself. */
async function takeOrRefuse(deps: StreamDeps, change: NodeChange, now: number): Promise<ChangeOutcome | "refused"> {
  try {
    return await applyListed(deps.registry, change, now, deps.config);
  } catch (error) {
    if (error instanceof ChangeRefusedError) return "refused";
    throw error;
  }
}

/** Why a publish is refused. */
export type PublishDenial =
  | "unknown_node"
  | "node_not_active"
  | "node_full"
  | "not_first_in_fill_order"
  | "live_elsewhere"
  | "already_live"
  | "already_ended"
  | "contended";

/** A publish reported by a node, in its name: which connection published which stream. */
export interface PublishReport extends NodeCredential {
  readonly stream: string;
  /** nginx-rtmp's `clientid` of the publishing connection. */
  readonly clientId: string;
}

/** Whether a refused camera waits for a new node. */
export interface RoomWait {
  /**
   * No node has room, as placement sees it, for a camera that holds no slot (it did not resolve):
   * it waits for a new node, as a resolve that finds no room does.
   */
  readonly waitsForRoom?: boolean;
}

/** What to do with a publish, decided from the registry as read. */
export type PublishDecision =
  | ({ readonly kind: "deny"; readonly reason: Exclude<PublishDenial, "contended"> } & RoomWait)
  | { readonly kind: "allow"; readonly change?: NodeChange; readonly releaseFrom?: StreamView };

/**
 * The change that makes the stream LIVE on this connection: the slot, the stream's fleet-wide
 * claim in the same write, and no tombstone of the connection (its end was not reported first).
 */
function goLive(change: NodeChange, report: PublishReport, now: number): NodeChange {
  return {
    ...change,
    when: {
      ...change.when,
      credentialHash: madeBy(report).credentialHash,
      notEnded: { keys: [endedKey(report.clientId, report.stream)], at: now },
    },
    claim: { [report.stream]: report.clientId },
  };
}

/**
 * Decides a publish (pure). The node must be ACTIVE. A stream already live on this connection is a
 * duplicate callback: allowed, nothing to write. A second publisher of a name live on this node is
 * refused (nginx-rtmp refuses it too, after asking), unless the node's `rtmp_stat` no longer lists
 * the first one (the camera reconnected before its old connection's end was reported): then the
 * new connection takes the slot over. A reservation here (even expired: its slot is still counted)
 * becomes live. Otherwise the stream needs a free slot here, and a reservation elsewhere is
 * released: the camera chose another node than it was given. A new slot is taken only on the node
 * placement would choose now (`chooseNode`): a camera that came through the fixed ingest address
 * without resolving, and landed on a node the load balancer has not yet moved away from (or has
 * already moved to too early), is refused, and its own retry reaches the right node. So the fill
 * order holds whatever the load balancer does; when no node has room, such a camera waits for a
 * new node (`waitsForRoom`). A stream live on another node is refused; the claim written with the
 * slot makes that hold under concurrency.
 */
export function decidePublish(
  nodes: readonly MediaNode[],
  report: PublishReport,
  now: number,
  config: FleetConfig,
): PublishDecision {
  const node = nodes.find((n) => n.nodeId === report.nodeId);
  if (!node) return { kind: "deny", reason: "unknown_node" };
  if (node.state !== "ACTIVE") return { kind: "deny", reason: "node_not_active" };
  const live: StreamSlot = { state: "LIVE", since: now, clientId: report.clientId };
  const here = slotOf(node, report.stream);
  if (here?.state === "LIVE" && here.clientId === report.clientId) return { kind: "allow" };
  if (here?.state === "LIVE" && here.missingSince === undefined) return { kind: "deny", reason: "already_live" };
  if (here) {
    const change: NodeChange = {
      nodeId: node.nodeId,
      when: { states: ["ACTIVE"], streams: { [report.stream]: unchangedSlot(here) } },
      putStreams: { [report.stream]: live },
      set: { streamsChangedAt: now },
      basis: node,
    };
    return { kind: "allow", change: goLive(change, report, now) };
  }
  const elsewhere = findStream(
    nodes.filter((n) => n.nodeId !== node.nodeId),
    report.stream,
    now,
  );
  if (elsewhere?.state === "LIVE") return { kind: "deny", reason: "live_elsewhere" };
  const first = chooseNode(nodes, now, config);
  if (first?.nodeId !== node.nodeId) {
    const reason = isFull(node, now, config) ? "node_full" : "not_first_in_fill_order";
    return { kind: "deny", reason, waitsForRoom: !elsewhere && !first };
  }
  return {
    kind: "allow",
    change: goLive(takeSlot(node, report.stream, live, now, config), report, now),
    releaseFrom: elsewhere,
  };
}

/** The outcome of a publish. */
export type PublishOutcome =
  | { readonly kind: "allowed"; readonly node: MediaNode; readonly movedFrom?: string }
  | ({ readonly kind: "denied"; readonly reason: PublishDenial } & RoomWait);

/**
 * The nodes a publish is decided on: the publishing node (strongly consistent) and the first nodes
 * with room (where its reservation is, if it was given another node), read side by side.
 * @throws NodeRefusedError when the node does not admit the report's credential
 */
async function publishView(registry: Registry, report: PublishReport): Promise<MediaNode[]> {
  const [own, listed] = await Promise.all([registry.getNode(report.nodeId), registry.nodesWithRoom(ROOM_READ_LIMIT)]);
  const node = admittedNode(own, report);
  return [node, ...listed.filter((n) => n.nodeId !== node.nodeId)];
}

/**
 * Publish: nginx-rtmp asks whether `report.stream` may publish on `report.nodeId`. Allowed streams
 * are LIVE in the registry when this returns. A stream live on another node is refused by its
 * claim, which the write takes with the slot.
 */
export async function publishStream(deps: StreamDeps, report: PublishReport): Promise<PublishOutcome> {
  const { registry, config } = deps;
  let nodes = await publishView(registry, report);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const now = deps.now();
    const decision = decidePublish(nodes, report, now, config);
    if (decision.kind === "deny")
      return { kind: "denied", reason: decision.reason, waitsForRoom: decision.waitsForRoom };
    if (!decision.change) return { kind: "allowed", node: nodes.find((n) => n.nodeId === report.nodeId) as MediaNode };
    const outcome = await applyListed(registry, decision.change, now, config);
    if (!outcome.applied) {
      if (outcome.conflict === "ended") return { kind: "denied", reason: "already_ended" };
      if (outcome.conflict === "claimed") return { kind: "denied", reason: "live_elsewhere" };
      // Lost a race on this node: decide again on it as it now is, or on a fresh read.
      nodes = outcome.node ? withNode(nodes, outcome.node) : await publishView(registry, report);
      // A node revoked meanwhile (declared DEAD) speaks for nothing.
      admittedNode(
        nodes.find((n) => n.nodeId === report.nodeId),
        report,
      );
      continue;
    }
    const from = decision.releaseFrom;
    if (from) {
      // Best effort: if the reservation changed meanwhile, it expires on its own.
      const release: NodeChange = {
        nodeId: from.nodeId,
        when: { streams: { [from.stream]: unchangedSlot(from) } },
        removeStreams: [from.stream],
        set: { streamsChangedAt: now },
      };
      await applyListed(registry, release, now, config);
    }
    return { kind: "allowed", node: outcome.node, movedFrom: from?.nodeId };
  }
  return { kind: "denied", reason: "contended" };
}

/** A publisher's end reported by a node in its name (or a player's: nginx-rtmp's `on_done` cannot tell). */
export interface DoneReport extends NodeCredential {
  readonly stream: string;
  readonly clientId: string;
}

/** The outcome of a done: whether a live stream was removed. */
export type DoneOutcome = { readonly kind: "removed"; readonly node: MediaNode } | { readonly kind: "ignored" };

/**
 * Done: removes the stream, and its claim, if this node holds it live on this very connection. Any
 * other `done` (a duplicate, an unknown stream, a `done` overtaking its publish) changes no slot;
 * it leaves a tombstone in force for `ENDED_RETENTION_MS`, kept out of the node's record, so that a
 * publish of that connection arriving late is refused rather than registering a stream that has
 * already ended. Idempotent. The node's credential is a condition of both writes: no read first.
 * @throws NodeRefusedError when the node is not registered, is DEAD, or presented another secret
 */
export async function endStream(deps: StreamDeps, report: DoneReport): Promise<DoneOutcome> {
  const now = deps.now();
  const ended: NodeChange = {
    nodeId: report.nodeId,
    when: { ...madeBy(report), streams: { [report.stream]: { state: "LIVE", clientId: report.clientId } } },
    removeStreams: [report.stream],
    unclaim: [report.stream],
    set: { streamsChangedAt: now },
  };
  const removed = await applyListed(deps.registry, ended, now, deps.config);
  if (removed.applied) return { kind: "removed", node: removed.node };
  if (removed.conflict !== "node") return { kind: "ignored" };
  const node = admittedNode(removed.node, report);
  await deps.registry.applyChange({
    nodeId: report.nodeId,
    when: madeBy(report),
    putEnded: { [endedKey(report.clientId, report.stream)]: now + ENDED_RETENTION_MS },
    basis: node,
  });
  return { kind: "ignored" };
}
