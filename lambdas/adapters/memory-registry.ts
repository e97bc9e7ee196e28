/**
 * In-memory registry for local mode and the simulator. Each call is atomic because JavaScript runs
 * it to completion; conditions follow the reference semantics of `lambdas/core/registry`.
 */
import type { FleetEvent, MediaNode, NodeState } from "../core/model";
import { byFillOrder } from "../core/placement";
import {
  applyEdits,
  type ChangeOutcome,
  claimHolderAgainst,
  conditionHolds,
  EVENT_RETENTION_MS,
  type NodeChange,
  type Registry,
  type StreamClaim,
  tombstoneInForce,
  type WaitingCamera,
} from "../core/registry";
import { ENDED_RETENTION_MS } from "../core/streams";

/** Events kept in memory at most: a long local run must not grow without bound. */
const MAX_EVENTS = 1000;

/** A registry held in this process's memory. Records are copied in and out, never shared. */
export class MemoryRegistry implements Registry {
  private readonly nodes = new Map<string, MediaNode>();
  private readonly claims = new Map<string, StreamClaim>();
  /** Per node, connection key → until when its tombstone is in force. */
  private readonly tombstones = new Map<string, Map<string, number>>();
  private readonly leases = new Map<string, { owner: string; until: number }>();
  /** Stream → until when its camera counts as waiting. */
  private readonly waiting = new Map<string, number>();
  private events: FleetEvent[] = [];

  async listNodes(_options?: { consistent?: boolean }): Promise<MediaNode[]> {
    return [...this.nodes.values()].map((node) => structuredClone(node));
  }

  async nodesWithRoom(limit: number): Promise<MediaNode[]> {
    const listed = [...this.nodes.values()].filter((node) => node.hasRoom).sort(byFillOrder);
    return listed.slice(0, limit).map((node) => structuredClone(node));
  }

  async getNode(nodeId: string): Promise<MediaNode | undefined> {
    const node = this.nodes.get(nodeId);
    return node && structuredClone(node);
  }

  async createNode(node: MediaNode): Promise<boolean> {
    if (this.nodes.has(node.nodeId)) return false;
    this.nodes.set(node.nodeId, structuredClone(node));
    return true;
  }

  async applyChange(change: NodeChange): Promise<ChangeOutcome> {
    const node = this.nodes.get(change.nodeId);
    const current = node && structuredClone(node);
    if (!conditionHolds(node, change.when)) return { applied: false, node: current, conflict: "node" };
    const ended = this.tombstones.get(change.nodeId);
    const notEnded = change.when.notEnded;
    if (notEnded?.keys.some((key) => tombstoneInForce(ended?.get(key), notEnded.at))) {
      return { applied: false, conflict: "ended" };
    }
    for (const stream of [...Object.keys(change.claim ?? {}), ...(change.unclaim ?? [])]) {
      const claimedBy = claimHolderAgainst(change, this.claims.get(stream));
      if (claimedBy) return { applied: false, conflict: "claimed", claimedBy };
    }
    for (const stream of change.unclaim ?? []) this.claims.delete(stream);
    for (const [stream, clientId] of Object.entries(change.claim ?? {})) {
      this.claims.set(stream, { stream, nodeId: change.nodeId, clientId });
    }
    this.recordTombstones(change);
    const next = structuredClone(applyEdits(node, change));
    this.nodes.set(change.nodeId, next);
    return { applied: true, node: structuredClone(next) };
  }

  async claimOf(stream: string): Promise<StreamClaim | undefined> {
    const claim = this.claims.get(stream);
    return claim && { ...claim };
  }

  /** Adds the change's tombstones and drops the node's expired ones: they never pile up. */
  private recordTombstones(change: NodeChange): void {
    const entries = Object.entries(change.putEnded ?? {});
    if (entries.length === 0) return;
    const ended = this.tombstones.get(change.nodeId) ?? new Map<string, number>();
    // A tombstone is recorded until its moment + ENDED_RETENTION_MS: the newest one tells the time.
    const now = Math.max(...entries.map(([, until]) => until)) - ENDED_RETENTION_MS;
    for (const [key, until] of ended) if (!tombstoneInForce(until, now)) ended.delete(key);
    for (const [key, until] of entries) ended.set(key, until);
    this.tombstones.set(change.nodeId, ended);
  }

  async deleteNode(nodeId: string, states: readonly NodeState[]): Promise<boolean> {
    const node = this.nodes.get(nodeId);
    if (!node || !states.includes(node.state)) return false;
    this.tombstones.delete(nodeId);
    return this.nodes.delete(nodeId);
  }

  async acquireLease(name: string, owner: string, now: number, ttlMs: number): Promise<boolean> {
    const lease = this.leases.get(name);
    if (lease && lease.owner !== owner && lease.until > now) return false;
    this.leases.set(name, { owner, until: now + ttlMs });
    return true;
  }

  async releaseLease(name: string, owner: string): Promise<void> {
    if (this.leases.get(name)?.owner === owner) this.leases.delete(name);
  }

  async noteWaiting(stream: string, until: number): Promise<void> {
    this.waiting.set(stream, until);
  }

  /** Drops the notes past their time as it reads: they never pile up between two scaler runs. */
  async waitingCameras(now: number, limit: number): Promise<WaitingCamera[]> {
    for (const [stream, until] of this.waiting) if (until <= now) this.waiting.delete(stream);
    return [...this.waiting]
      .map(([stream, until]) => ({ stream, until }))
      .sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0))
      .slice(0, limit);
  }

  async appendEvents(events: readonly FleetEvent[]): Promise<void> {
    const newest = Math.max(0, ...events.map((e) => e.at));
    this.events = [...this.events, ...events.map((e) => ({ ...e }))]
      .filter((e) => e.at > newest - EVENT_RETENTION_MS)
      .sort((a, b) => a.at - b.at)
      .slice(-MAX_EVENTS);
  }

  async recentEvents(limit: number): Promise<FleetEvent[]> {
    return this.events
      .slice(-limit)
      .reverse()
      .map((e) => ({ ...e }));
  }
}
