/**
 * Node secrets held in this process: local mode hands each one to its node's files when it starts
 * the node, the simulator and the tests to their agents.
 */
import type { NodeCredentials } from "../core/ports";

/** A `NodeCredentials` in memory: the first secret issued for a node stays its secret until revoked. */
export class MemoryNodeCredentials implements NodeCredentials {
  private readonly secrets = new Map<string, string>();

  /**
   * @param secretFor a fixed secret per node, for tests that build node records themselves and
   *   must know the secrets without registering the nodes; otherwise the issued candidate is kept
   */
  constructor(private readonly secretFor?: (nodeId: string) => string) {}

  async issue(nodeId: string, candidate: string): Promise<string> {
    const secret = this.secretOf(nodeId) ?? candidate;
    this.secrets.set(nodeId, secret);
    return secret;
  }

  async revoke(nodeId: string): Promise<void> {
    this.secrets.delete(nodeId);
  }

  /** The node's secret, as its node is handed it; undefined before it is issued (or after it is revoked). */
  secretOf(nodeId: string): string | undefined {
    return this.secrets.get(nodeId) ?? this.secretFor?.(nodeId);
  }
}
