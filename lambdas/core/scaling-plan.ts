/**
 * The scaling plan: from the registry's nodes, the group's instances and the policy, what the
 * scaler should do now, decided by a pure function (`decideScaling`); `scaling-execution.ts`
 * carries it out. The Lambda scaler, local mode and the simulator all run this one function.
 *
 * The policy, as the pure steps `decideScaling` composes, in this order (each exported):
 * - `liveness`: a node whose instance left the group is DEAD and its streams leave the registry.
 *   Silence alone (4 heartbeat periods) takes a node out of placement, but a node that carries
 *   streams is terminated only on evidence from outside it that its machine is gone (the group's
 *   health check, EC2, no network traffic, a dead process): without it the node is SILENT, kept
 *   and protected, and comes back with its next heartbeat. An empty silent node is DEAD. When many
 *   nodes fall silent together (`silenceBreaker`), the control plane is blamed: nothing is
 *   terminated or declared DEAD for silence. A DEAD node whose instance is still in the group is
 *   terminated after 4 more periods (it may come back within them); one whose instance is gone is
 *   forgotten.
 * - `wantedCapacity`: `max(minNodes, in use) + spare` nodes ready or launching, within `maxNodes`;
 *   the spare is the empty nodes that the cameras waiting for room (refused lately, held by no
 *   node yet) plus `bufferNodes`' worth of room call for beyond the free slots of the nodes in use,
 *   one once every node in use is full (so `bufferNodes: 0` launches only then), or what the recent
 *   arrivals call for (`spareLeadSeconds`). So a flash crowd launches the nodes it needs at once,
 *   not one after another. Launching nodes count, so nothing is launched twice.
 * - `scaleOut`: what is short comes from DRAINING nodes first, then from dead instances replaced
 *   at the group's maximum, then from a higher desired capacity.
 * - `scaleIn`: only an ACTIVE node holding nothing, idle for `scaleInIdleSeconds`, beyond what the
 *   policy wants, newest first: it is drained (DRAINING, which resolve skips) and then terminated
 *   by instance id with the desired count decremented. The group's own scale-in is never used.
 * - `protection`: every node holding a stream or a live reservation is protected from scale-in.
 * - `launchesToContinue`: an ACTIVE node whose launch still waits in the lifecycle hook goes on.
 */
import { DEAD_AFTER_HEARTBEATS, type FleetConfig, SILENCE_BREAKER_MIN_NODES } from "./config";
import {
  type GroupInstance,
  type GroupState,
  groupSaysGone,
  instanceGone,
  instanceInService,
  waitsInLaunchHook,
} from "./group";
import {
  expiredReservations,
  type FleetEvent,
  type FleetEventKind,
  heldStreams,
  holdsAnySlot,
  type MediaNode,
  slotOf,
} from "./model";
import { byFillOrder, hasRoom, isFull, newNodeSlotLimit, slotLimit } from "./placement";
import type { MachineSign } from "./ports";

/** What the policy wants, and what the fleet has. */
export interface CapacitySummary {
  /** ACTIVE nodes holding a stream or a reservation, or full. */
  readonly inUse: number;
  /** ACTIVE nodes, in use or not. */
  readonly active: number;
  /** Nodes booting: PENDING nodes, instances not yet registered, and capacity not yet launched. */
  readonly launching: number;
  /** Nodes the policy wants ready or launching. */
  readonly wanted: number;
  /** Whether every node in use is full. */
  readonly allInUseFull: boolean;
  /** Empty nodes the policy wants beyond those in use. */
  readonly spare: number;
  /** Cameras refused for want of room lately that no node holds yet: the spare carries them. */
  readonly waiting: number;
}

/** Counts behind a plan, for logs, events, metrics and the simulator. */
export interface ScalingSummary extends CapacitySummary {
  /** Nodes SILENT once this plan is carried out: out of placement, kept and protected. */
  readonly silent: number;
  /** Whether many nodes fell silent together: the control plane is blamed, nothing is terminated for silence. */
  readonly breakerOpen: boolean;
}

/** What the scaler should do now. */
export interface ScalingPlan {
  /** The group's new desired capacity, when it must rise (it is never lowered this way). */
  readonly desiredCapacity?: number;
  /** Instances to protect from scale-in: they hold streams or reservations. */
  readonly protect: readonly string[];
  /** Nodes to declare DEAD (their streams leave the registry). */
  readonly markDead: readonly string[];
  /** Silent nodes to declare SILENT: out of placement, their streams kept, protected. */
  readonly silence: readonly string[];
  /** DRAINING nodes to take back into service (capacity is needed, or a stream appeared on them). */
  readonly undrain: readonly string[];
  /** ACTIVE idle nodes to drain and then terminate. */
  readonly drain: readonly string[];
  /** Instances to terminate with the desired count decremented: drained and empty, or long dead. */
  readonly terminate: readonly string[];
  /**
   * Dead instances to terminate without decrementing, so the group launches their replacements:
   * capacity is needed and the group is at its maximum.
   */
  readonly replace: readonly string[];
  /** DEAD node records whose instance is gone. */
  readonly forget: readonly string[];
  /** Instances in the group with no node record: their launch event was missed; registered now. */
  readonly register: readonly string[];
  /** Nodes the cloud had no address for when they were registered: asked again. */
  readonly locate: readonly string[];
  /**
   * Nodes registered with no credential: before an update that issues one per launch. The secret
   * the node already holds is read back from where it was issued, and its hash recorded.
   */
  readonly credential: readonly string[];
  /**
   * ACTIVE nodes whose instance still waits in the launch lifecycle hook: the heartbeat that made
   * them ACTIVE could not continue the launch, so the scaler does.
   */
  readonly continueLaunch: readonly string[];
  readonly summary: ScalingSummary;
  /** One event for each decision, for the operator. */
  readonly events: readonly FleetEvent[];
}

/** What the decision reads. */
export interface ScalingInput {
  readonly nodes: readonly MediaNode[];
  readonly group: GroupState;
  readonly config: FleetConfig;
  /** The current time (epoch ms). */
  readonly now: number;
  /** Signs from outside the nodes (`MachineEvidence`) that a silent node's machine is gone, by node id. */
  readonly machineSigns?: ReadonlyMap<string, MachineSign>;
  /** The streams of cameras refused for want of room lately (`Registry.waitingCameras`), at most `waitingLimit`. */
  readonly waiting?: readonly string[];
}

/** Silence after which a node leaves placement (ms). */
export function deadAfterMs(config: FleetConfig): number {
  return DEAD_AFTER_HEARTBEATS * config.heartbeatSeconds * 1000;
}

/**
 * How many times `deadAfterMs` a DEAD node's instance still in the group is left before it is
 * terminated: it may come back within the second period (a network partition, a stalled agent).
 */
export const DEAD_PERIODS_BEFORE_TERMINATION = 2;

/** Silence after which a DEAD node's instance is terminated (ms). */
export function terminateDeadAfterMs(config: FleetConfig): number {
  return DEAD_PERIODS_BEFORE_TERMINATION * deadAfterMs(config);
}

/** When the node last showed life: its last heartbeat, or its last state change if it never sent one. */
export function lastSignOfLife(node: MediaNode): number {
  return node.lastHeartbeatAt ?? node.stateChangedAt;
}

/** Since when a node has held nothing (epoch ms); undefined while it holds a stream or reservation. */
export function idleSince(node: MediaNode, now: number): number | undefined {
  if (holdsAnySlot(node, now)) return undefined;
  const expiries = expiredReservations(node, now).map((name) => slotOf(node, name)?.expiresAt ?? 0);
  return Math.max(node.streamsChangedAt, node.stateChangedAt, ...expiries);
}

/** The slots the nodes in use have room for at `now`: each one's slot limit beyond what it holds. */
export function freeSlots(inUse: readonly MediaNode[], now: number, config: FleetConfig): number {
  return inUse.reduce((sum, node) => sum + Math.max(0, slotLimit(node, config) - heldStreams(node, now).length), 0);
}

/** The empty nodes that carry `cameras` beyond `room` free slots, at `newSlots` slots a new node (`newNodeSlotLimit`). */
function nodesFor(cameras: number, room: number, newSlots: number): number {
  return Math.ceil(Math.max(0, cameras - room) / newSlots);
}

/**
 * The empty nodes that the recent arrivals call for (`spareLeadSeconds`; 0 when it is 0): the
 * cameras that took a slot over the last `spareLeadSeconds` are expected again over the next as
 * many, which is about how long a new node takes to be ready. Those the nodes in use have no room
 * for need empty nodes.
 * @param alive the nodes not DEAD
 * @param room the free slots of the nodes in use
 */
export function arrivalSpare(alive: readonly MediaNode[], room: number, now: number, config: FleetConfig): number {
  if (config.spareLeadSeconds === 0) return 0;
  const since = now - config.spareLeadSeconds * 1000;
  const arrivals = alive
    .flatMap((node) => heldStreams(node, now).map((name) => slotOf(node, name)?.since ?? 0))
    .filter((at) => at >= since).length;
  return nodesFor(arrivals, room, newNodeSlotLimit(alive, config));
}

/**
 * The empty nodes the cameras waiting for room and `bufferNodes` call for: the waiting cameras plus
 * `bufferNodes`' worth of room (as many slots as that many new nodes hold), less the slots the
 * nodes in use still have free. A spare node beside nodes in use that have room for a node's worth
 * of cameras would only wait for cameras the others already take; but cameras already refused are
 * cameras no free slot took, and each one launched for only after the last node booted would wait
 * a boot more.
 * @param room the free slots of the nodes in use
 * @param newSlots the slots a new node holds (`newNodeSlotLimit`)
 * @param waiting the cameras waiting for room (`stillWaiting`)
 */
export function bufferSpare(room: number, newSlots: number, waiting: number, config: FleetConfig): number {
  return nodesFor(waiting + config.bufferNodes * newSlots, room, newSlots);
}

/**
 * The most waiting cameras the scaler reads and counts: what `maxNodes` new nodes hold. More could
 * not make it want more nodes (wanted is capped at `maxNodes`), so a flood of refused resolves for
 * made-up names costs each run one bounded read, and launches at most `maxNodes`.
 */
export function waitingLimit(nodes: readonly MediaNode[], config: FleetConfig): number {
  return config.maxNodes * newNodeSlotLimit(nodes, config);
}

/** The waiting cameras no node holds yet (LIVE or reserved): one placed since it was refused counts no more. */
export function stillWaiting(waiting: readonly string[], alive: readonly MediaNode[], now: number): number {
  const held = new Set(alive.flatMap((node) => heldStreams(node, now)));
  return waiting.filter((stream) => !held.has(stream)).length;
}

/** The group's instances by id. */
export type Instances = ReadonlyMap<string, GroupInstance>;

/** Nodes a step chose, with one event for each that says why. */
export interface Choice {
  readonly nodeIds: readonly string[];
  readonly events: readonly FleetEvent[];
}

const NOTHING: Choice = { nodeIds: [], events: [] };

/** A choice of `nodes`, each explained by `event`. */
function choose(nodes: readonly MediaNode[], event: (node: MediaNode) => FleetEvent): Choice {
  return { nodeIds: nodes.map((n) => n.nodeId), events: nodes.map(event) };
}

/** An event of the decision taken at `now`. */
function decided(now: number, kind: FleetEventKind, message: string, nodeId?: string): FleetEvent {
  return { at: now, kind, nodeId, message };
}

// Liveness.

/** True when the node has been silent longer than `deadAfterMs` (a PENDING node's silence is its launch hook's to judge). */
export function isSilent(node: MediaNode, config: FleetConfig, now: number): boolean {
  return node.state !== "PENDING" && node.state !== "DEAD" && now - lastSignOfLife(node) > deadAfterMs(config);
}

/** True when the node carries a live stream: silence alone must not cut it. */
function carriesLive(node: MediaNode): boolean {
  return Object.values(node.streams).some((slot) => slot.state === "LIVE");
}

/** How many nodes fell silent together, against how many it takes to blame the control plane. */
export interface SilenceBreaker {
  readonly open: boolean;
  /** The most silent nodes whose last signs of life lie within one window of each other. */
  readonly together: number;
  /** The nodes watched: those neither booting nor DEAD. */
  readonly watched: number;
  /** The count that opens the breaker: `silenceBreakerPercent` of the watched nodes, and at least 2. */
  readonly threshold: number;
}

/**
 * The silence breaker: nodes fail one at a time, but a control plane that cannot hear them (its
 * API throttled, the heartbeat Lambda broken by a deploy, a DynamoDB or DNS outage) silences many
 * at once. When `silenceBreakerPercent` of the watched nodes (and at least 2) fell silent within
 * one window of `deadAfterMs`, the silence is the control plane's, not the nodes'.
 */
export function silenceBreaker(nodes: readonly MediaNode[], config: FleetConfig, now: number): SilenceBreaker {
  const watched = nodes.filter((n) => n.state !== "PENDING" && n.state !== "DEAD");
  const since = watched
    .filter((n) => isSilent(n, config, now))
    .map(lastSignOfLife)
    .sort((a, b) => a - b);
  let together = 0;
  for (let first = 0, last = 0; last < since.length; last++) {
    while ((since[last] as number) - (since[first] as number) > deadAfterMs(config)) first++;
    together = Math.max(together, last - first + 1);
  }
  const share = Math.ceil((config.silenceBreakerPercent / 100) * watched.length);
  const threshold = Math.max(SILENCE_BREAKER_MIN_NODES, share);
  return { open: together >= threshold, together, watched: watched.length, threshold };
}

/** What becomes of a node that is not DEAD: it lives, it is SILENT, or it is DEAD and why. */
type Fate =
  | { readonly kind: "alive" }
  | { readonly kind: "silent" }
  | { readonly kind: "dead"; readonly cause: string };

/**
 * The fate of a node that is not DEAD. Its instance leaving the group is always death. Silence is
 * death only with evidence from outside the node that its machine is gone (the group's health
 * check, or the machine evidence port), or for a node that carries no live stream; otherwise the
 * node is SILENT. With the breaker open, only evidence that the machine itself is gone counts (a
 * node with nothing to receive receives nothing, so traffic says nothing), and silence alone
 * never kills.
 */
export function fateOf(
  node: MediaNode,
  instance: GroupInstance | undefined,
  sign: MachineSign | undefined,
  breakerOpen: boolean,
  config: FleetConfig,
  now: number,
): Fate {
  if (instanceGone(instance)) return { kind: "dead", cause: "its instance left the group" };
  if (!isSilent(node, config, now)) return { kind: "alive" };
  const silentFor = `no heartbeat for ${Math.round((now - lastSignOfLife(node)) / 1000)} s`;
  const groupSign = groupSaysGone(instance);
  const machineGone = groupSign ?? (sign?.kind === "machine" ? sign.reason : undefined);
  if (machineGone) return { kind: "dead", cause: `${silentFor}, and ${machineGone}` };
  if (breakerOpen) return { kind: "silent" };
  if (!carriesLive(node)) return { kind: "dead", cause: `${silentFor}, and it carries no stream` };
  if (sign) return { kind: "dead", cause: `${silentFor}, and ${sign.reason}` };
  return { kind: "silent" };
}

/** What the nodes' signs of life decide. */
export interface Liveness {
  /** Nodes to declare DEAD now. */
  readonly markDead: Choice;
  /** Silent nodes to declare SILENT now (those SILENT already stay so, without an event). */
  readonly silence: Choice;
  /** DEAD nodes silent past `terminateDeadAfterMs` whose instance is still in the group: terminated. */
  readonly terminate: Choice;
  /** DEAD nodes whose instance is gone: their records are dropped. */
  readonly forget: readonly string[];
  /** The nodes neither DEAD nor declared DEAD now (SILENT ones included: they are protected). */
  readonly alive: readonly MediaNode[];
  /** Dead nodes (DEAD, or declared now) whose instance still holds a place in the group: replaceable. */
  readonly deadInGroup: readonly string[];
  readonly breaker: SilenceBreaker;
  /** The breaker's event, when it is open. */
  readonly events: readonly FleetEvent[];
}

/** Liveness: which nodes are dead or silent, and what becomes of the dead ones' instances and records. */
export function liveness(
  nodes: readonly MediaNode[],
  instances: Instances,
  signs: ReadonlyMap<string, MachineSign>,
  config: FleetConfig,
  now: number,
): Liveness {
  const breaker = silenceBreaker(nodes, config, now);
  const fates = new Map<MediaNode, Fate>();
  for (const node of nodes.filter((n) => n.state !== "DEAD")) {
    fates.set(node, fateOf(node, instances.get(node.nodeId), signs.get(node.nodeId), breaker.open, config, now));
  }
  const dying = nodes.filter((n) => fates.get(n)?.kind === "dead");
  const falling = nodes.filter((n) => fates.get(n)?.kind === "silent" && n.state !== "SILENT");
  const dead = nodes.filter((n) => n.state === "DEAD");
  const gone = (n: MediaNode) => instanceGone(instances.get(n.nodeId));
  // With the breaker open, nothing is terminated for silence, not even a node DEAD before.
  const longDead = breaker.open
    ? []
    : dead.filter((n) => !gone(n) && now - lastSignOfLife(n) > terminateDeadAfterMs(config));
  const causeOf = (n: MediaNode) => (fates.get(n) as { cause: string }).cause;
  const held = (n: MediaNode) => Object.values(n.streams).filter((s) => s.state === "LIVE").length;
  return {
    markDead: choose(dying, (n) => decided(now, "dead", `node ${n.nodeId} is DEAD: ${causeOf(n)}`, n.nodeId)),
    silence: choose(falling, (n) => {
      const why = breaker.open
        ? "the silence breaker is open"
        : `it carries ${held(n)} stream(s) and nothing says its machine is gone`;
      return decided(now, "silent", `node ${n.nodeId} is SILENT: kept, protected, out of placement (${why})`, n.nodeId);
    }),
    terminate: choose(longDead, (n) => decided(now, "terminate", `terminating dead node ${n.nodeId}`, n.nodeId)),
    forget: dead.filter(gone).map((n) => n.nodeId),
    alive: nodes.filter((n) => n.state !== "DEAD" && fates.get(n)?.kind !== "dead"),
    deadInGroup: breaker.open ? [] : [...dead, ...dying].filter((n) => !gone(n)).map((n) => n.nodeId),
    breaker,
    events: breaker.open
      ? [
          decided(
            now,
            "breaker",
            `silence breaker open: ${breaker.together} of ${breaker.watched} nodes fell silent together ` +
              `(threshold ${breaker.threshold}): the control plane is blamed, nothing is terminated for silence`,
          ),
        ]
      : [],
  };
}

// Wanted capacity.

/** What the policy wants, and what serves it now. */
export interface Capacity {
  readonly summary: CapacitySummary;
  /** The ACTIVE nodes, in use or not. */
  readonly active: readonly MediaNode[];
  /** Nodes ready or launching: ACTIVE ones and booting ones. */
  readonly serving: number;
}

/**
 * Nodes booting: PENDING nodes, instances with no node record yet, and capacity the group has
 * been asked for but not launched. They count, so that nothing is launched twice.
 */
export function launchingCount(nodes: readonly MediaNode[], alive: readonly MediaNode[], group: GroupState): number {
  const registered = new Set(nodes.map((n) => n.nodeId));
  const liveInstances = group.instances.filter((i) => !instanceGone(i));
  const unregisteredBooting = liveInstances.filter((i) => !registered.has(i.instanceId)).length;
  const notYetLaunched = Math.max(0, group.desired - liveInstances.length);
  return alive.filter((n) => n.state === "PENDING").length + unregisteredBooting + notYetLaunched;
}

/**
 * The empty nodes wanted beyond those in use: the cameras waiting plus `bufferNodes`' worth of room,
 * counting the free slots of the nodes in use, at least one once every node in use is full (what
 * `bufferNodes: 0` launches), and at least what the recent arrivals call for.
 * @param waiting the cameras waiting for room (`stillWaiting`)
 */
export function spareWanted(
  alive: readonly MediaNode[],
  inUse: readonly MediaNode[],
  allInUseFull: boolean,
  waiting: number,
  config: FleetConfig,
  now: number,
): number {
  const room = freeSlots(inUse, now, config);
  return Math.max(
    bufferSpare(room, newNodeSlotLimit(alive, config), waiting, config),
    allInUseFull ? 1 : 0,
    arrivalSpare(alive, room, now, config),
  );
}

/**
 * Wanted capacity: `max(minNodes, in use) + spare`, within `maxNodes` and the group's maximum.
 * @param waiting the streams of cameras refused for want of room lately
 */
export function wantedCapacity(
  nodes: readonly MediaNode[],
  alive: readonly MediaNode[],
  group: GroupState,
  config: FleetConfig,
  now: number,
  waiting: readonly string[] = [],
): Capacity {
  const active = alive.filter((n) => n.state === "ACTIVE");
  const inUse = active.filter((n) => holdsAnySlot(n, now) || isFull(n, now, config));
  // Full as placement sees it: a node short of the slots to reopen takes no camera either.
  const allInUseFull = inUse.length > 0 && inUse.every((n) => !hasRoom(n, now, config));
  const launching = launchingCount(nodes, alive, group);
  const waitingCount = stillWaiting(waiting, alive, now);
  const spare = spareWanted(alive, inUse, allInUseFull, waitingCount, config, now);
  const wanted = Math.min(config.maxNodes, group.max, Math.max(config.minNodes, inUse.length) + spare);
  const summary: CapacitySummary = {
    inUse: inUse.length,
    active: active.length,
    launching,
    wanted,
    allInUseFull,
    spare,
    waiting: waitingCount,
  };
  return { summary, active, serving: active.length + launching };
}

// Scale-out.

/** DRAINING nodes that hold a slot again (a camera was placed just before the drain): back in service. */
export function reclaimHolding(draining: readonly MediaNode[], now: number): Choice {
  return choose(
    draining.filter((n) => holdsAnySlot(n, now)),
    (n) => decided(now, "undrain", `node ${n.nodeId} holds a stream again: back in service`, n.nodeId),
  );
}

/** DRAINING nodes taken back, oldest first, for `shortfall` nodes the policy wants: faster than a launch. */
export function undrainForCapacity(
  draining: readonly MediaNode[],
  reclaimed: readonly string[],
  shortfall: number,
  now: number,
): Choice {
  const candidates = draining.filter((n) => !reclaimed.includes(n.nodeId)).sort(byFillOrder);
  return choose(candidates.slice(0, Math.max(0, shortfall)), (n) =>
    decided(now, "undrain", `node ${n.nodeId} is needed again: back in service`, n.nodeId),
  );
}

/**
 * At the group's maximum, dead instances hold places that live ones need: those of them the
 * `shortfall` cannot get by raising the desired capacity are replaced now (terminated without
 * decrementing, so the group launches others).
 */
export function replaceDead(deadInGroup: readonly string[], group: GroupState, shortfall: number, now: number): Choice {
  if (shortfall <= 0 || group.desired + shortfall <= group.max) return NOTHING;
  const replaced = deadInGroup.slice(0, shortfall - Math.max(0, group.max - group.desired));
  return {
    nodeIds: replaced,
    events: replaced.map((id) => decided(now, "replace", `replacing dead node ${id}: the group is at its maximum`, id)),
  };
}

/** The desired capacity that launches the `shortfall`, within the group's maximum; undefined when it would not rise. */
export function raisedCapacity(
  group: GroupState,
  shortfall: number,
  capacity: Capacity,
  now: number,
): { readonly desiredCapacity?: number; readonly events: readonly FleetEvent[] } {
  const desired = Math.min(group.max, group.desired + shortfall);
  if (shortfall <= 0 || desired <= group.desired) return { events: [] };
  const { inUse, wanted, waiting } = capacity.summary;
  const why = `${inUse} in use, ${capacity.serving} ready or launching, policy wants ${wanted}, ${waiting} camera(s) waiting`;
  return {
    desiredCapacity: desired,
    events: [decided(now, "scale-out", `desired capacity ${group.desired} → ${desired}: ${why}`)],
  };
}

/** What scale-out decides. */
export interface ScaleOut {
  /** DRAINING nodes taken back: those holding a slot again, then those needed. */
  readonly undrain: readonly string[];
  /** Dead instances replaced. */
  readonly replace: readonly string[];
  /** The group's new desired capacity, when it rises. */
  readonly desiredCapacity?: number;
  /** Nodes still short once all that is done; 0 or less when the fleet has what the policy wants. */
  readonly shortfall: number;
  readonly events: readonly FleetEvent[];
}

/**
 * Scale-out: DRAINING nodes that hold a slot are taken back whatever the capacity; then what the
 * policy still wants comes from draining nodes first, dead instances replaced at the group's
 * maximum next, and a higher desired capacity last.
 */
export function scaleOut(
  alive: readonly MediaNode[],
  deadInGroup: readonly string[],
  group: GroupState,
  capacity: Capacity,
  now: number,
): ScaleOut {
  const draining = alive.filter((n) => n.state === "DRAINING");
  const reclaimed = reclaimHolding(draining, now);
  const needed = capacity.summary.wanted - capacity.serving - reclaimed.nodeIds.length;
  const undrained = undrainForCapacity(draining, reclaimed.nodeIds, needed, now);
  const replaced = replaceDead(deadInGroup, group, needed - undrained.nodeIds.length, now);
  const shortfall = needed - undrained.nodeIds.length - replaced.nodeIds.length;
  const raised = raisedCapacity(group, shortfall, capacity, now);
  return {
    undrain: [...reclaimed.nodeIds, ...undrained.nodeIds],
    replace: replaced.nodeIds,
    desiredCapacity: raised.desiredCapacity,
    shortfall,
    events: [...reclaimed.events, ...undrained.events, ...replaced.events, ...raised.events],
  };
}

// Scale-in.

/**
 * The nodes scale-in may take, newest first: ACTIVE, holding nothing, not full, idle for
 * `scaleInIdleSeconds`, and in service (a node still booting may yet fail: nothing is drained for it).
 */
export function scaleInCandidates(
  active: readonly MediaNode[],
  instances: Instances,
  config: FleetConfig,
  now: number,
): MediaNode[] {
  return active
    .filter((n) => {
      const idle = idleSince(n, now);
      return idle !== undefined && now - idle >= config.scaleInIdleSeconds * 1000 && !isFull(n, now, config);
    })
    .filter((n) => instanceInService(instances.get(n.nodeId)))
    .sort((a, b) => byFillOrder(b, a));
}

/** Scale-in: of the candidates, as many as the nodes in service exceed what the policy wants. */
export function scaleIn(
  capacity: Capacity,
  undrained: number,
  instances: Instances,
  config: FleetConfig,
  now: number,
): Choice {
  const { wanted } = capacity.summary;
  const excess = capacity.active.length + undrained - wanted;
  const drained = scaleInCandidates(capacity.active, instances, config, now).slice(0, Math.max(0, excess));
  return choose(drained, (n) => {
    const idle = Math.round((now - (idleSince(n, now) as number)) / 1000);
    return decided(now, "drain", `draining node ${n.nodeId}: idle for ${idle} s, policy wants ${wanted}`, n.nodeId);
  });
}

/** DRAINING nodes that are empty and not taken back: an earlier run's termination that did not go through. */
export function drainedToTerminate(alive: readonly MediaNode[], undrain: readonly string[], now: number): string[] {
  return alive
    .filter((n) => n.state === "DRAINING" && !undrain.includes(n.nodeId) && !holdsAnySlot(n, now))
    .map((n) => n.nodeId);
}

// Protection, and launches to continue.

/** Protection: nodes holding a slot whose instance is not protected from scale-in. */
export function protection(alive: readonly MediaNode[], instances: Instances, now: number): Choice {
  const unprotected = alive.filter((n) => {
    const instance = instances.get(n.nodeId);
    return holdsAnySlot(n, now) && instance !== undefined && !instance.protectedFromScaleIn;
  });
  return choose(unprotected, (n) =>
    decided(now, "protect", `protecting node ${n.nodeId}: it carries streams`, n.nodeId),
  );
}

/**
 * ACTIVE nodes whose instance still waits in the launch lifecycle hook: the heartbeat that made
 * them ACTIVE could not continue the launch, so the scaler does.
 */
export function launchesToContinue(alive: readonly MediaNode[], instances: Instances, now: number): Choice {
  const waiting = alive.filter((n) => n.state === "ACTIVE" && waitsInLaunchHook(instances.get(n.nodeId)));
  return choose(waiting, (n) => decided(now, "ready", `node ${n.nodeId} is ACTIVE: continuing its launch`, n.nodeId));
}

/**
 * Repairs of registration: instances with no record (a missed launch event), nodes with no address
 * yet, nodes with no credential (registered before credentials were issued per launch).
 */
export function registrationRepairs(
  nodes: readonly MediaNode[],
  group: GroupState,
): Pick<ScalingPlan, "register" | "locate" | "credential"> {
  const registered = new Set(nodes.map((n) => n.nodeId));
  const kept = nodes.filter((n) => n.state !== "DEAD");
  return {
    register: group.instances.filter((i) => !instanceGone(i) && !registered.has(i.instanceId)).map((i) => i.instanceId),
    locate: kept.filter((n) => n.rtmpBaseUrl === "").map((n) => n.nodeId),
    credential: kept.filter((n) => n.credentialHash === undefined).map((n) => n.nodeId),
  };
}

/** Decides what the scaler should do now (pure): the steps above, each on what the ones before it decided. */
export function decideScaling({
  nodes,
  group,
  config,
  now,
  machineSigns = new Map(),
  waiting = [],
}: ScalingInput): ScalingPlan {
  const instances: Instances = new Map(group.instances.map((i) => [i.instanceId, i]));
  const life = liveness(nodes, instances, machineSigns, config, now);
  const capacity = wantedCapacity(nodes, life.alive, group, config, now, waiting);
  const out = scaleOut(life.alive, life.deadInGroup, group, capacity, now);
  const drain = out.shortfall > 0 ? NOTHING : scaleIn(capacity, out.undrain.length, instances, config, now);
  const protect = protection(life.alive, instances, now);
  const ready = launchesToContinue(life.alive, instances, now);
  return {
    desiredCapacity: out.desiredCapacity,
    protect: protect.nodeIds,
    markDead: life.markDead.nodeIds,
    silence: life.silence.nodeIds,
    undrain: out.undrain,
    drain: drain.nodeIds,
    terminate: [
      ...life.terminate.nodeIds.filter((id) => !out.replace.includes(id)),
      ...drainedToTerminate(life.alive, out.undrain, now),
    ],
    replace: out.replace,
    forget: life.forget,
    ...registrationRepairs(nodes, group),
    continueLaunch: ready.nodeIds,
    summary: {
      ...capacity.summary,
      silent: life.alive.filter((n) => n.state === "SILENT").length + life.silence.nodeIds.length,
      breakerOpen: life.breaker.open,
    },
    events: [
      ...life.events,
      ...life.markDead.events,
      ...life.silence.events,
      ...life.terminate.events,
      ...out.events,
      ...drain.events,
      ...protect.events,
      ...ready.events,
    ],
  };
}
