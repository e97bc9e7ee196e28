/**
 * One scaler run ("tick"): read the group and the registry (the nodes, and the cameras waiting for
 * room), sweep expired reservations, decide (`scaling-plan.ts`), and carry the plan out
 * (`scaling-execution.ts`). Runs under a lease, so two
 * scalers never act at once; and every registry step is a conditional write, so even a scaler
 * that lost its lease cannot drain a node that has just been given a stream.
 *
 * A node's CPU comes from its agent's heartbeats alone, never from here: placement's threshold is
 * defined on the node's one nginx worker's core (docs/NODE.md), and CloudWatch's `CPUUtilization`
 * measures another quantity, the whole instance in percent of all its vCPUs.
 */
import type { FleetConfig } from "./config";
import { fleetProfile, withFleetStart } from "./cpu-profile";
import type { NodeLifecycleDeps } from "./lifecycle";
import { expiredReservations, type FleetEvent, type MediaNode, slotOf } from "./model";
import type { FleetPort, MachineEvidence, MachineSign } from "./ports";
import type { NodeChange } from "./registry";
import { applyListed, listingRepair } from "./room-index";
import { carryOut } from "./scaling-execution";
import { decideScaling, isSilent, lastSignOfLife, type ScalingPlan, waitingLimit } from "./scaling-plan";

/** What a scaler run uses. */
export interface ScalerDeps extends NodeLifecycleDeps {
  readonly config: FleetConfig;
  readonly fleet: FleetPort;
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
    const nodes = await giveFleetStart(deps, await sweepExpired(deps, await registry.listNodes({ consistent: true })));
    const machineSigns = await signsOfSilentNodes(deps, nodes);
    // Bounded: more cameras than `maxNodes` nodes hold could not make it want more.
    const waiting = await registry.waitingCameras(deps.now(), waitingLimit(nodes, deps.config));
    const now = deps.now();
    const plan = decideScaling({
      nodes,
      group,
      config: deps.config,
      now,
      machineSigns,
      waiting: waiting.map((camera) => camera.stream),
    });
    const events = [...plan.events, ...(await carryOut(deps, plan, group, nodes))];
    await registry.appendEvents(events);
    return { ran: true, plan, nodes, events };
  } finally {
    await registry.releaseLease(SCALER_LEASE, deps.owner);
  }
}

/**
 * Gives each node that has no start yet the CPU profile the fleet has learned (`withFleetStart`),
 * so that a new node's room is right from its first camera rather than the configured default's:
 * the tick's read is the one that sees the fleet (a node's registration reads no other node).
 * Guarded by the node's CPU sample: a heartbeat meanwhile wins, and the next tick tries again.
 * Returns the nodes as they now are.
 */
async function giveFleetStart(deps: ScalerDeps, nodes: MediaNode[]): Promise<MediaNode[]> {
  const fleet = fleetProfile(nodes);
  const now = deps.now();
  const result: MediaNode[] = [];
  for (const node of nodes) {
    const cpuProfile = node.state === "DEAD" ? undefined : withFleetStart(node.cpuProfile, fleet);
    const outcome =
      cpuProfile &&
      (await applyListed(
        deps.registry,
        {
          nodeId: node.nodeId,
          when: { states: [node.state], cpuAt: node.cpu?.at ?? null },
          set: { cpuProfile },
          basis: node,
        },
        now,
        deps.config,
      ));
    result.push(outcome?.applied ? outcome.node : node);
  }
  return result;
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

/** The change that sweeps a node's expired reservations before deciding (pure); undefined when it has none. */
export function sweepChange(node: MediaNode, now: number): NodeChange | undefined {
  const expired = expiredReservations(node, now);
  if (expired.length === 0) return undefined;
  return {
    nodeId: node.nodeId,
    when: {
      streams: Object.fromEntries(
        expired.map((name) => [name, { state: "RESERVED", expiresAt: slotOf(node, name)?.expiresAt }] as const),
      ),
    },
    set: { streamsChangedAt: now },
    removeStreams: expired,
  };
}

/**
 * Sweeps expired reservations before deciding (`sweepChange`), and lists or unlists among the nodes
 * with room each node whose listing is wrong (`room-index.ts`): the one write that repairs every
 * listing a missed write left behind. Returns the nodes as they now are.
 */
async function sweepExpired(deps: ScalerDeps, nodes: MediaNode[]): Promise<MediaNode[]> {
  const now = deps.now();
  const result: MediaNode[] = [];
  for (const node of nodes) {
    const change = sweepChange(node, now) ?? listingRepair(node, now, deps.config);
    const outcome = change && (await applyListed(deps.registry, change, now, deps.config));
    if (!outcome) result.push(node);
    // A node that changed meanwhile is read again: the decision must see it as it is.
    else result.push(outcome.applied ? outcome.node : ((await deps.registry.getNode(node.nodeId)) ?? node));
  }
  return result;
}
