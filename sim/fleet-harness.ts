/**
 * An in-process fleet that drives the control plane exactly as the Lambdas do: a camera resolves
 * (`placeCamera`), publishes where it was sent (`admitPublish`) and stops (`endStream`); node
 * agents report (`recordHeartbeat`); the scaler ticks (`runScalerTick`); and an in-process group's
 * lifecycle hooks are answered by `onLifecycle`, as EventBridge has the lifecycle Lambda answer an
 * Auto Scaling group's. The unit scaler tests, the moto scenarios and the simulator all drive their
 * fleet through it and keep only what is their own (moto's group and CloudWatch, the simulator's
 * virtual time), so none of them can skip or re-implement a rule of the core.
 *
 * It lives in sim/ because the simulator is shipped code (`npm run sim`, `npm run bench`) that must
 * not import test code, while tests may import the simulator; and not in lambdas/, whose modules
 * are what the Lambdas are built from.
 */

import { MemoryNodeCredentials } from "../lambdas/adapters/memory-node-credentials";
import { ProcessGroup, type ProcessGroupOptions } from "../lambdas/adapters/process-group";
import { RTMP_APP, RTMP_PORT } from "../lambdas/contract";
import {
  type AdmitOutcome,
  admitPublish,
  type CameraDeps,
  type PlaceOutcome,
  placeCamera,
} from "../lambdas/core/cameras";
import {
  type HeartbeatOutcome,
  type HeartbeatReport,
  type ReportedStream,
  recordHeartbeat,
} from "../lambdas/core/heartbeat";
import { onLifecycle } from "../lambdas/core/lifecycle";
import { slotOf } from "../lambdas/core/model";
import type { InstanceAddresses, MachineEvidence, MachineSign, SilentNode } from "../lambdas/core/ports";
import type { Registry } from "../lambdas/core/registry";
import { runScalerTick, type ScalerDeps, type TickReport } from "../lambdas/core/scaler-run";
import { type DoneOutcome, type DoneReport, endStream } from "../lambdas/core/streams";

/** Where an in-process fleet's nodes get their secrets, and where cameras reach them. */
export interface NodeServices {
  readonly credentials: MemoryNodeCredentials;
  readonly addresses: InstanceAddresses;
}

/**
 * Node services for an in-process fleet: secrets in memory, and every node reachable at
 * `rtmp://<node id>.<domain>:1935/live`.
 * @param secretFor a fixed secret per node (tests that build node records themselves)
 */
export function nodeServices(domain: string, secretFor?: (nodeId: string) => string): NodeServices {
  return {
    credentials: new MemoryNodeCredentials(secretFor),
    addresses: { rtmpBaseUrl: async (nodeId) => `rtmp://${nodeId}.${domain}:${RTMP_PORT}/${RTMP_APP}` },
  };
}

/** What the fleet's drivers use: the Lambdas' dependencies, in one process. */
export interface HarnessDeps extends Omit<ScalerDeps, keyof NodeServices>, CameraDeps, NodeServices {}

/** What a node's agent measured and saw in its `rtmp_stat` (nginx answers). */
export type AgentReading = Pick<HeartbeatReport, "streams" | "cpuPercent" | "streamsAverage">;

/**
 * Machines that went down, as the outside world would see them (EC2 stopped, no network traffic):
 * the evidence port of an in-process fleet. A node whose agent is only silenced is not among them.
 */
export class DownMachines implements MachineEvidence {
  private readonly down = new Set<string>();

  /** The node's machine is gone: its agent, nginx and network with it. */
  crash(nodeId: string): void {
    this.down.add(nodeId);
  }

  async gone(nodes: readonly SilentNode[]): Promise<ReadonlyMap<string, MachineSign>> {
    const sign: MachineSign = { kind: "machine", reason: "its machine is down" };
    return new Map(nodes.filter((n) => this.down.has(n.nodeId)).map((n) => [n.nodeId, sign]));
  }
}

/** An in-process fleet's cameras, node agents and scaler, each calling the core as its Lambda does. */
export class FleetHarness {
  private clientIds = 0;
  /** The machines this fleet's tests or traces took down (the evidence port unless `deps` has its own). */
  readonly machines = new DownMachines();
  readonly deps: HarnessDeps;

  /**
   * @param deps the registry, the group (built with the same node services), the policy, the clock,
   *   and where scale-out requests go
   */
  constructor(deps: HarnessDeps) {
    this.deps = { ...deps, evidence: deps.evidence ?? this.machines };
  }

  /** The node's secret, as its shim presents it (none before the node is registered). */
  secretOf(nodeId: string): string {
    return this.deps.credentials.secretOf(nodeId) ?? "";
  }

  /** The next publishing connection's id, as nginx-rtmp numbers its clients. */
  nextClientId(): string {
    return String(++this.clientIds);
  }

  /** A camera asks where to publish (`GET /resolve`). */
  place(stream: string): Promise<PlaceOutcome> {
    return placeCamera(this.deps, stream);
  }

  /** The camera's publish reaches nginx on `nodeId`, which asks the control plane (`on_publish`). */
  publish(nodeId: string, stream: string, clientId = this.nextClientId()): Promise<AdmitOutcome> {
    return admitPublish(this.deps, { nodeId, secret: this.secretOf(nodeId), stream, clientId });
  }

  /** A camera resolves, then publishes where it was sent. Returns its node, or why it was refused. */
  async camera(stream: string): Promise<string> {
    const placed = await this.place(stream);
    if (placed.kind !== "placed") return placed.kind;
    const outcome = await this.publish(placed.stream.nodeId, stream);
    return outcome.kind === "allowed" ? placed.stream.nodeId : outcome.reason;
  }

  /** nginx reports a publisher's end (`on_publish_done`), through the node's shim. */
  done(report: Omit<DoneReport, "secret">): Promise<DoneOutcome> {
    return endStream(this.deps, { ...report, secret: this.secretOf(report.nodeId) });
  }

  /** A camera stops: the node it is live on reports its end. */
  async stop(stream: string): Promise<void> {
    const nodes = await this.deps.registry.listNodes({ consistent: true });
    const node = nodes.find((n) => slotOf(n, stream)?.state === "LIVE");
    const clientId = node && slotOf(node, stream)?.clientId;
    if (node && clientId) await this.done({ nodeId: node.nodeId, stream, clientId });
  }

  /** A node's agent reports: nginx answers, with what it measured and publishes. */
  heartbeat(nodeId: string, reading: AgentReading): Promise<HeartbeatOutcome> {
    return recordHeartbeat(this.deps, {
      nodeId,
      secret: this.secretOf(nodeId),
      ready: true,
      ...reading,
    });
  }

  /** The streams the registry has live on the node: what its nginx publishes when no callback was lost. */
  async registeredStreams(nodeId: string): Promise<ReportedStream[]> {
    const node = await this.deps.registry.getNode(nodeId);
    return Object.entries(node?.streams ?? {})
      .filter(([, slot]) => slot.state === "LIVE")
      .map(([name, slot]) => ({ name, clientId: slot.clientId as string }));
  }

  /** One scaler run; `overrides` (another owner, another group) apply to this run only. */
  tick(overrides: Partial<ScalerDeps> = {}): Promise<TickReport> {
    return runScalerTick({ ...this.deps, ...overrides });
  }
}

/** An in-process group (the simulator's, the tests') whose lifecycle hooks `onLifecycle` answers. */
export function inProcessGroup(
  registry: Registry,
  options: Omit<ProcessGroupOptions, "hooks">,
  services: NodeServices,
): ProcessGroup {
  const now = options.now ?? Date.now;
  const deps = () => ({ registry, fleet: group, now, ...services });
  const group: ProcessGroup = new ProcessGroup({
    ...options,
    hooks: {
      launching: async (instanceId, launchedAt) => {
        await onLifecycle(deps(), { kind: "launching", instanceId, launchedAt });
      },
      terminating: async (instanceId) => {
        await onLifecycle(deps(), { kind: "terminating", instanceId });
      },
    },
  });
  return group;
}
