/**
 * In-memory registry for local mode and the simulator. Each call is atomic because JavaScript runs
 * it to completion; conditions follow the reference semantics of `lambdas/core/registry`.
 */
import type { FleetEvent, MediaNode, NodeState } from "../core/model";
import {
  applyEdits,
  type ChangeOutcome,
  conditionHolds,
  EVENT_RETENTION_MS,
  type NodeChange,
  type Registry,
} from "../core/registry";

/** Events kept in memory at most: a long local run must not grow without bound. */
const MAX_EVENTS = 1000;

/** A registry held in this process's memory. Records are copied in and out, never shared. */
export class MemoryRegistry implements Registry {
  private readonly nodes = new Map<string, MediaNode>();
  private readonly leases = new Map<string, { owner: string; until: number }>();
  private events: FleetEvent[] = [];

  async listNodes(_options?: { consistent?: boolean }): Promise<MediaNode[]> {
    return [...this.nodes.values()].map((node) => structuredClone(node));
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
    if (!conditionHolds(node, change.when)) return { applied: false, node: node && structuredClone(node) };
    const next = structuredClone(applyEdits(node, change));
    this.nodes.set(change.nodeId, next);
    return { applied: true, node: structuredClone(next) };
  }

  async deleteNode(nodeId: string, states: readonly NodeState[]): Promise<boolean> {
    const node = this.nodes.get(nodeId);
    if (!node || !states.includes(node.state)) return false;
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
