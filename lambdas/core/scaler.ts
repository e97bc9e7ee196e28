/**
 * One scaler run ("tick"): read the group and the registry, refresh CPU samples, sweep expired
 * reservations, decide (`decideScaling`), and carry the plan out. Runs under a lease, so two
 * scalers never act at once; and every registry step is a conditional write, so even a scaler
 * that lost its lease cannot drain a node that has just been given a stream.
 */
import type { FleetConfig } from "./config";
import { type FleetDeps, markDead, setProtection } from "./fleet";
import {
  cpuReadingKeptMs,
  expiredReservations,
  type FleetEvent,
  type FleetEventKind,
  type MediaNode,
  nextCpuSample,
  streamsLiveSince,
} from "./model";
import { CPU_METRIC_PERIOD_MS, type CpuMetrics, type FleetPort } from "./ports";
import { decideScaling, type GroupState, instanceGone, type ScalingPlan } from "./scaling";
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
    const events = [...plan.events];
    await carryOut(deps, plan, group, nodes, events);
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
  const inService = new Set(group.instances.filter((i) => i.lifecycleState === "InService").map((i) => i.instanceId));
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

/**
 * Carries the plan out, in an order that never leaves a stream unprotected or cut. Each action is a
 * step of its own: one that fails (an API throttled, a node that changed) is recorded as an
 * `error` event and the others go on; the next run decides again from what happened.
 */
async function carryOut(
  deps: ScalerDeps,
  plan: ScalingPlan,
  group: GroupState,
  nodes: MediaNode[],
  events: FleetEvent[],
): Promise<void> {
  const { registry, fleet } = deps;
  const now = deps.now();
  const byId = new Map(nodes.map((n) => [n.nodeId, n]));
  const note = (kind: FleetEventKind, message: string, nodeId?: string) =>
    events.push({ at: now, kind, nodeId, message });
  const step = async (what: string, nodeId: string | undefined, action: () => Promise<void>) => {
    try {
      await action();
    } catch (error) {
      note(
        "error",
        `${what} failed (${(error as Error).name}: ${(error as Error).message}); the next run retries`,
        nodeId,
      );
    }
  };

  // 1. Protect first: a node carrying streams must never wait for the rest of the tick.
  if (plan.protect.length > 0) {
    await step(`protecting ${plan.protect.join(", ")}`, undefined, () => setProtection(deps, plan.protect, true));
  }

  // 2. Launches the heartbeat could not continue, and liveness.
  for (const nodeId of plan.continueLaunch) {
    await step(`continuing the launch of ${nodeId}`, nodeId, () => fleet.completeLaunch(nodeId, "CONTINUE"));
  }
  for (const nodeId of plan.markDead) {
    const node = byId.get(nodeId);
    await step(`declaring ${nodeId} DEAD`, nodeId, async () => {
      if (node && !(await markDead(registry, node, now)))
        note("skipped", `node ${nodeId} changed: not marked DEAD`, nodeId);
    });
  }
  for (const nodeId of plan.forget) {
    await step(`forgetting ${nodeId}`, nodeId, async () => void (await registry.deleteNode(nodeId, ["DEAD"])));
  }

  // 3. Capacity up.
  for (const nodeId of plan.undrain) {
    await step(`taking ${nodeId} back into service`, nodeId, async () => {
      await registry.applyChange({
        nodeId,
        when: { states: ["DRAINING"] },
        set: { state: "ACTIVE", stateChangedAt: now },
      });
    });
  }
  let desired = group.desired;
  const raise = plan.desiredCapacity;
  if (raise !== undefined) {
    await step(`raising the desired capacity to ${raise}`, undefined, async () => {
      await fleet.setDesiredCapacity(raise);
      desired = raise;
    });
  }

  // 4. Capacity down: drain (only while empty), check again, unprotect, terminate that instance.
  const toTerminate = [...plan.terminate];
  for (const nodeId of plan.drain) {
    await step(`draining ${nodeId}`, nodeId, async () => {
      const drained = await registry.applyChange({
        nodeId,
        when: { states: ["ACTIVE"], slotsEqual: 0 },
        set: { state: "DRAINING", stateChangedAt: now },
      });
      if (drained.applied) toTerminate.push(nodeId);
      else note("skipped", `node ${nodeId} got a stream: not drained`, nodeId);
    });
  }
  const instances = new Map(group.instances.map((i) => [i.instanceId, i]));
  for (const nodeId of plan.replace) {
    if (instanceGone(instances.get(nodeId))) continue;
    await step(`replacing dead node ${nodeId}`, nodeId, async () => {
      await fleet.setProtection([nodeId], false);
      await fleet.terminate(nodeId, false);
      note("terminated", `terminated dead node ${nodeId}; the group launches its replacement`, nodeId);
    });
  }
  for (const nodeId of toTerminate) {
    await step(`terminating ${nodeId}`, nodeId, async () => {
      const node = await registry.getNode(nodeId);
      const empty = node !== undefined && Object.keys(node.streams).length === 0;
      if (!node || !empty || (node.state !== "DRAINING" && node.state !== "DEAD")) {
        note("skipped", `node ${nodeId} is not empty or not draining: not terminated`, nodeId);
        return;
      }
      if (instanceGone(instances.get(nodeId))) return;
      await setProtection(deps, [nodeId], false);
      // Never below the group's minimum: then the group replaces the instance instead.
      const decrement = desired > group.min;
      await fleet.terminate(nodeId, decrement);
      if (decrement) desired--;
      if (node.state === "DRAINING") {
        await registry.applyChange({
          nodeId,
          when: { states: ["DRAINING"], slotsEqual: 0 },
          set: { state: "DEAD", stateChangedAt: now },
        });
      }
      note(
        "terminated",
        `terminated node ${nodeId}${decrement ? "" : " (replaced: the group is at its minimum)"}`,
        nodeId,
      );
    });
  }
}
