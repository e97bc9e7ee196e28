/**
 * Local mode's evidence, from outside a node's agent, that the node's machine is gone: what EC2
 * and CloudWatch tell on AWS, read from the node's nginx.
 * - machine: the node's nginx process is gone (killed, crashed);
 * - traffic: its nginx received next to nothing over the silent window, by the `bytes_in` total of
 *   its own stat page (as CloudWatch's NetworkIn counts bytes received), which a node that carries
 *   cameras cannot do. An nginx that no longer answers its stat page receives nothing either.
 * An agent that is only stopped or cut off leaves both alone: its node stays SILENT, not DEAD.
 *
 * Not the process's `rchar`: nginx reads its sockets with recv(2), which `rchar` does not count.
 */
import {
  type MachineEvidence,
  type MachineSign,
  NEAR_ZERO_BYTES_PER_SECOND,
  type SilentNode,
} from "../lambdas/core/ports";

/** A node as the evidence sees it: its id, its rtmp nginx's pid while it has one, and its stat page. */
export interface WatchedNode {
  readonly instanceId: string;
  readonly nginxPid: number | undefined;
  readonly statUrl: string;
}

/** How long byte counts are kept (ms): longer than any silent window the scaler asks about. */
const KEEP_MS = 15 * 60 * 1000;

/** How long a stat page may take to answer (ms): a loopback page answers in a few. */
const STAT_TIMEOUT_MS = 1000;

/** One reading of a node's bytes received. */
interface Sample {
  readonly at: number;
  readonly bytes: number;
}

/** True when a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The bytes an nginx-rtmp has received since it started, from its stat page; undefined when it does not answer. */
export async function bytesReceived(statUrl: string): Promise<number | undefined> {
  try {
    const response = await fetch(statUrl, { signal: AbortSignal.timeout(STAT_TIMEOUT_MS) });
    if (!response.ok) return undefined;
    // The server-wide total comes before the first <server>; a stream's own totals come after.
    const total = /^<bytes_in>(\d+)<\/bytes_in>$/m.exec((await response.text()).split("<server>")[0] ?? "")?.[1];
    return total === undefined ? undefined : Number(total);
  } catch {
    return undefined;
  }
}

/** The machine evidence of local nodes; `sample()` must run regularly (the scaler loop calls it each tick). */
export class LocalMachineEvidence implements MachineEvidence {
  private readonly samples = new Map<string, Sample[]>();

  constructor(
    private readonly nodes: () => readonly WatchedNode[],
    private readonly now: () => number = Date.now,
  ) {}

  /** Records each node's bytes received so far. */
  async sample(): Promise<void> {
    const now = this.now();
    await Promise.all(
      this.nodes().map(async (node) => {
        const bytes = await bytesReceived(node.statUrl);
        if (bytes === undefined) return;
        const kept = (this.samples.get(node.instanceId) ?? []).filter((s) => now - s.at <= KEEP_MS);
        this.samples.set(node.instanceId, [...kept, { at: now, bytes }]);
      }),
    );
  }

  async gone(silent: readonly SilentNode[], now: number): Promise<ReadonlyMap<string, MachineSign>> {
    const signs = new Map<string, MachineSign>();
    const watched = new Map(this.nodes().map((n) => [n.instanceId, n]));
    for (const { nodeId, silentSince } of silent) {
      const node = watched.get(nodeId);
      if (node?.nginxPid === undefined || !alive(node.nginxPid)) {
        signs.set(nodeId, { kind: "machine", reason: "its nginx is not running" });
        continue;
      }
      // The last reading taken when the node fell silent, or before: what it had received by then.
      const before = (this.samples.get(nodeId) ?? []).filter((s) => s.at <= silentSince).at(-1);
      if (!before) continue;
      const seconds = Math.max(1, (now - before.at) / 1000);
      const bytesNow = await bytesReceived(node.statUrl);
      if (bytesNow === undefined) {
        signs.set(nodeId, { kind: "traffic", reason: "its nginx has stopped answering its stat page" });
        continue;
      }
      // A count lower than before means the counter started again: all of it came since.
      const received = bytesNow >= before.bytes ? bytesNow - before.bytes : bytesNow;
      if (received / seconds < NEAR_ZERO_BYTES_PER_SECOND) {
        signs.set(nodeId, {
          kind: "traffic",
          reason: `its nginx received ${received} bytes in the ${Math.round(seconds)} s it has been silent`,
        });
      }
    }
    return signs;
  }
}
