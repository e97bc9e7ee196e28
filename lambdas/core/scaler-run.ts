/**
 * One scaler run ("tick"): read the group and the registry, refresh CPU samples, sweep expired
 * reservations, decide (`scaling-plan.ts`), and carry the plan out (`scaling-execution.ts`). Runs under a lease, so two
 * scalers never act at once; and every registry step is a conditional write, so even a scaler
 * that lost its lease cannot drain a node that has just been given a stream.
 */
import type { FleetConfig } from "./config";
import { type GroupState, instanceInService } from "./group";
import type { NodeLifecycleDeps } from "./lifecycle";
import {
  cpuReadingKeptMs,
  expiredReservations,
  type FleetEvent,
  type MediaNode,
  nextCpuSample,
  slotOf,
  streamsLiveSince,
} from "./model";
import { CPU_METRIC_PERIOD_MS, type CpuMetrics, type FleetPort, type MachineEvidence, type MachineSign } from "./ports";
import type { NodeChange } from "./registry";
import { carryOut } from "./scaling-execution";
import { decideScaling, isSilent, lastSignOfLife, type ScalingPlan } from "./scaling-plan";

/** What a scaler run uses. */
export interface ScalerDeps extends NodeLifecycleDeps {
  readonly config: FleetConfig;
  readonly fleet: FleetPort;
  /** CPU samples from outside the nodes (CloudWatch); optional, heartbeats carry CPU too. */
  readonly metrics?: CpuMetrics;
  /**
   * What tells, from outside a silent node, that its machine is gone. Without it, only the group's
   * own word (instance gone, unhealthy) ends a silent node that carries streams.
   */
  readonly evidence?: MachineEvidence;
  /** Who runs this tick (e.g. the Lambda request id), for the lease. */
  readonly owner: string;
}

/** The lease the scaler runs under. */
export const SCALER_LEASE = "scaler";
/** How long a scaler may hold the lease; longer than a tick can take (the Lambda's timeout is 60 s). */
export const SCALER_LEASE_MS = 90_000;

/** What a tick did. */
export interface TickReport {
  /** False when another scaler held the lease: this one did nothing. */
  readonly ran: boolean;
  readonly plan?: ScalingPlan;
  /** The nodes the plan was decided on. */
  readonly nodes?: readonly MediaNode[];
  /** What was carried out, with the steps that were skipped because the registry changed. */
  readonly events: readonly FleetEvent[];
}

/** Runs one scaler tick. */
export async function runScalerTick(deps: ScalerDeps): Promise<TickReport> {
  const { registry, fleet } = deps;
  const start = deps.now();
  if (!(await registry.acquireLease(SCALER_LEASE, deps.owner, start, SCALER_LEASE_MS))) {
    return { ran: false, events: [] };
  }
  try {
    const group = await fleet.describe();
    const nodes = await refresh(deps, group, await registry.listNodes({ consistent: true }));
    const machineSigns = await signsOfSilentNodes(deps, nodes);
    const now = deps.now();
    const plan = decideScaling({ nodes, group, config: deps.config, now, machineSigns });
    const events = [...plan.events, ...(await carryOut(deps, plan, group, nodes))];
    await registry.appendEvents(events);
    return { ran: true, plan, nodes, events };
  } finally {
    await registry.releaseLease(SCALER_LEASE, deps.owner);
  }
}

/** The evidence port's signs about the silent nodes (only they are asked about). */
async function signsOfSilentNodes(
  deps: ScalerDeps,
  nodes: readonly MediaNode[],
): Promise<ReadonlyMap<string, MachineSign>> {
  const now = deps.now();
  const silent = nodes.filter((n) => isSilent(n, deps.config, now));
  if (!deps.evidence || silent.length === 0) return new Map();
  return deps.evidence.gone(
    silent.map((n) => ({ nodeId: n.nodeId, silentSince: lastSignOfLife(n) })),
    now,
  );
}

/** A CPU sample from the metrics port: the average over `CPU_METRIC_PERIOD_MS` before `at`. */
type MetricSample = { readonly percent: number; readonly at: number };

/**
 * The change that brings a node up to date before deciding (pure): a newer CPU sample from the
 * metrics port, expired reservations swept. Undefined when it is up to date.
 */
export function refreshChange(node: MediaNode, sample: MetricSample | undefined, now: number): NodeChange | undefined {
  const newerCpu = sample !== undefined && sample.at > (node.cpu?.at ?? Number.NEGATIVE_INFINITY);
  const expired = expiredReservations(node, now);
  if (!newerCpu && expired.length === 0) return undefined;
  // A metric sample averages the period before `at`: pair it with the streams live all that period.
  const reading = newerCpu && {
    percent: sample.percent,
    at: sample.at,
    streams: streamsLiveSince(node, sample.at - CPU_METRIC_PERIOD_MS),
  };
  return {
    nodeId: node.nodeId,
    when: {
      cpuAt: node.cpu?.at ?? null,
      streams: Object.fromEntries(
        expired.map((name) => [name, { state: "RESERVED", expiresAt: slotOf(node, name)?.expiresAt }] as const),
      ),
    },
    set: {
      ...(reading ? { cpu: nextCpuSample(node.cpu, reading, cpuReadingKeptMs(CPU_METRIC_PERIOD_MS)) } : {}),
      ...(expired.length > 0 ? { streamsChangedAt: now } : {}),
    },
    removeStreams: expired,
  };
}

/** The metrics port's CPU samples of the nodes in service that take or hold streams. */
async function metricSamples(
  deps: ScalerDeps,
  group: GroupState,
  nodes: readonly MediaNode[],
  now: number,
): Promise<ReadonlyMap<string, MetricSample>> {
  const inService = new Set(group.instances.filter(instanceInService).map((i) => i.instanceId));
  const measured = nodes.filter((n) => (n.state === "ACTIVE" || n.state === "DRAINING") && inService.has(n.nodeId));
  if (!deps.metrics || measured.length === 0) return new Map();
  return deps.metrics.cpu(
    measured.map((n) => n.nodeId),
    now,
  );
}

/** Brings the nodes up to date before deciding (`refreshChange`); returns them as they now are. */
async function refresh(deps: ScalerDeps, group: GroupState, nodes: MediaNode[]): Promise<MediaNode[]> {
  const now = deps.now();
  const samples = await metricSamples(deps, group, nodes, now);
  const result: MediaNode[] = [];
  for (const node of nodes) {
    const change = refreshChange(node, samples.get(node.nodeId), now);
    const outcome = change && (await deps.registry.applyChange(change));
    if (!outcome) result.push(node);
    // A node that changed meanwhile is read again: the decision must see it as it is.
    else result.push(outcome.applied ? outcome.node : ((await deps.registry.getNode(node.nodeId)) ?? node));
  }
  return result;
}
