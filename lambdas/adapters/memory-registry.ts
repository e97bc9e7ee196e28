/**
 * In-memory registry for local mode and the simulator. Each call is atomic because JavaScript runs
 * it to completion; conditions follow the reference semantics of `lambdas/core/registry`.
 */
import type { MediaNode, NodeState } from "../core/model";
import { applyEdits, type ChangeOutcome, conditionHolds, type NodeChange, type Registry } from "../core/registry";

/** A registry held in this process's memory. Records are copied in and out, never shared. */
export class MemoryRegistry implements Registry {
  private readonly nodes = new Map<string, MediaNode>();

  async listNodes(): Promise<MediaNode[]> {
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
    if (!conditionHolds(node, change.when)) return { applied: false };
    const next = structuredClone(applyEdits(node, change));
    this.nodes.set(change.nodeId, next);
    return { applied: true, node: structuredClone(next) };
  }

  async deleteNode(nodeId: string, states: readonly NodeState[]): Promise<boolean> {
    const node = this.nodes.get(nodeId);
    if (!node || !states.includes(node.state)) return false;
    return this.nodes.delete(nodeId);
  }
}
