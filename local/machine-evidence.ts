/**
 * Local mode's evidence, from outside a node's agent, that the node's machine is gone: what EC2
 * and CloudWatch tell on AWS, read from this machine's processes.
 * - machine: the node's nginx process is gone (killed, crashed);
 * - traffic: its nginx processes read next to nothing from their sockets over the silent window
 *   (the `rchar` of /proc/<pid>/io, as CloudWatch's NetworkIn counts bytes received), which a node
 *   that carries cameras cannot do.
 * An agent that is only stopped or cut off leaves both alone: its node stays SILENT, not DEAD.
 */
import { readdirSync, readFileSync } from "node:fs";
import {
  type MachineEvidence,
  type MachineSign,
  NEAR_ZERO_BYTES_PER_SECOND,
  type SilentNode,
} from "../lambdas/core/ports";

/** A node as the evidence sees it: its id and its nginx master's pid, while it has one. */
export interface WatchedNode {
  readonly instanceId: string;
  readonly nginxPid: number | undefined;
}

/** How long byte counts are kept (ms): longer than any silent window the scaler asks about. */
const KEEP_MS = 15 * 60 * 1000;

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

/** Bytes read by the process and its children (nginx's master and workers), or undefined when it is gone. */
export function bytesRead(master: number): number | undefined {
  if (!alive(master)) return undefined;
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Fields after the command name (which may hold spaces): state ppid ...
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (Number(entry) !== master && parent !== master) continue;
      const rchar = /^rchar: (\d+)$/m.exec(readFileSync(`/proc/${entry}/io`, "utf8"))?.[1];
      total += Number(rchar ?? 0);
    } catch {
      // the process ended while it was read
    }
  }
  return total;
}

/** The machine evidence of local nodes; `sample()` must run regularly (the scaler loop calls it each tick). */
export class LocalMachineEvidence implements MachineEvidence {
  private readonly samples = new Map<string, Sample[]>();

  constructor(
    private readonly nodes: () => readonly WatchedNode[],
    private readonly now: () => number = Date.now,
  ) {}

  /** Records each node's bytes received so far. */
  sample(): void {
    const now = this.now();
    for (const node of this.nodes()) {
      const bytes = node.nginxPid === undefined ? undefined : bytesRead(node.nginxPid);
      if (bytes === undefined) continue;
      const kept = (this.samples.get(node.instanceId) ?? []).filter((s) => now - s.at <= KEEP_MS);
      this.samples.set(node.instanceId, [...kept, { at: now, bytes }]);
    }
  }

  async gone(silent: readonly SilentNode[], now: number): Promise<ReadonlyMap<string, MachineSign>> {
    const signs = new Map<string, MachineSign>();
    const watched = new Map(this.nodes().map((n) => [n.instanceId, n]));
    for (const { nodeId, silentSince } of silent) {
      const pid = watched.get(nodeId)?.nginxPid;
      const bytesNow = pid === undefined ? undefined : bytesRead(pid);
      if (bytesNow === undefined) {
        signs.set(nodeId, { kind: "machine", reason: "its nginx is not running" });
        continue;
      }
      // The last reading taken when the node fell silent, or before: what it had received by then.
      const before = (this.samples.get(nodeId) ?? []).filter((s) => s.at <= silentSince).at(-1);
      if (!before) continue;
      const seconds = Math.max(1, (now - before.at) / 1000);
      const received = bytesNow - before.bytes;
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
