/**
 * One scaler run ("tick"): read the group and the registry, refresh CPU samples, sweep expired
 * reservations, decide (`scaling-plan.ts`), and carry the plan out (`scaling-execution.ts`). Runs under a lease, so two
 * scalers never act at once; and every registry step is a conditional write, so even a scaler
 * that lost its lease cannot drain a node that has just been given a stream.
 */
import type { FleetConfig } from "./config";
import type { FleetDeps } from "./fleet";
import { type GroupState, instanceInService } from "./group";
import {
  cpuReadingKeptMs,
  expiredReservations,
  type FleetEvent,
  type MediaNode,
  nextCpuSample,
  streamsLiveSince,
} from "./model";
import { CPU_METRIC_PERIOD_MS, type CpuMetrics, type FleetPort } from "./ports";
import { carryOut } from "./scaling-execution";
import { decideScaling, type ScalingPlan } from "./scaling-plan";
import { staleTombstones } from "./streams";

/** What a scaler run uses. */
export interface ScalerDeps extends FleetDeps {
  readonly config: FleetConfig;
  readonly fleet: FleetPort;
  /** CPU samples from outside the nodes (CloudWatch); optional, heartbeats carry CPU too. */
  readonly metrics?: CpuMetrics;
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
    const now = deps.now();
    const plan = decideScaling({ nodes, group, config: deps.config, now });
    const events = [...plan.events, ...(await carryOut(deps, plan, group, nodes))];
    await registry.appendEvents(events);
    return { ran: true, plan, nodes, events };
  } finally {
    await registry.releaseLease(SCALER_LEASE, deps.owner);
  }
}

/**
 * Brings the nodes up to date before deciding: newer CPU samples from the metrics port, expired
 * reservations and old tombstones swept. Returns the nodes as they now are.
 */
async function refresh(deps: ScalerDeps, group: GroupState, nodes: MediaNode[]): Promise<MediaNode[]> {
  const now = deps.now();
  const inService = new Set(group.instances.filter(instanceInService).map((i) => i.instanceId));
  const measured = nodes.filter((n) => (n.state === "ACTIVE" || n.state === "DRAINING") && inService.has(n.nodeId));
  const samples =
    deps.metrics && measured.length > 0
      ? await deps.metrics.cpu(
          measured.map((n) => n.nodeId),
          now,
        )
      : new Map();
  const result: MediaNode[] = [];
  for (const node of nodes) {
    const sample = samples.get(node.nodeId);
    const newerCpu = sample !== undefined && sample.at > (node.cpu?.at ?? Number.NEGATIVE_INFINITY);
    const expired = expiredReservations(node, now);
    const stale = staleTombstones(node, now);
    if (!newerCpu && expired.length === 0 && stale.length === 0) {
      result.push(node);
      continue;
    }
    const outcome = await deps.registry.applyChange({
      nodeId: node.nodeId,
      when: {
        cpuAt: node.cpu?.at ?? null,
        streams: Object.fromEntries(
          expired.map((name) => [name, { state: "RESERVED", expiresAt: node.streams[name]?.expiresAt }] as const),
        ),
      },
      set: {
        ...(newerCpu
          ? {
              // A CloudWatch sample averages the period before `at`: pair it with the streams live all that period.
              cpu: nextCpuSample(
                node.cpu,
                {
                  percent: sample.percent,
                  at: sample.at,
                  streams: streamsLiveSince(node, sample.at - CPU_METRIC_PERIOD_MS),
                },
                cpuReadingKeptMs(CPU_METRIC_PERIOD_MS),
              ),
            }
          : {}),
        ...(expired.length > 0 ? { streamsChangedAt: now } : {}),
      },
      removeStreams: expired,
      removeEnded: stale,
    });
    // A node that changed meanwhile is read again: the decision must see it as it is.
    result.push(outcome.applied ? outcome.node : ((await deps.registry.getNode(node.nodeId)) ?? node));
  }
  return result;
}
