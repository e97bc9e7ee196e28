/**
 * Heartbeats: each node's agent reports its CPU, the streams its `rtmp_stat` lists, and whether
 * nginx answers. The registry is reconciled with that list, so it heals from lost callbacks:
 * - a registered stream the node no longer lists is marked missing, and removed once it has been
 *   missing for the grace period (a stream published just after the agent read `rtmp_stat` is
 *   listed by the next heartbeat, well within it);
 * - a stream the node lists but the registry lacks is added (it is live: reality wins), unless it
 *   is live or reserved on another node, and at most `MAX_STREAMS_ADDED_PER_BEAT` a heartbeat:
 *   every stream is published through `on_publish`, so a heartbeat only repairs a lost answer, and
 *   a lying node cannot take names in bulk;
 * - a reservation the node lists as publishing becomes live (its `on_publish` answer was lost);
 * - a live stream's viewer count becomes the node's own (its players in `rtmp_stat`) when the two
 *   differ and no play or play_done changed it for the grace period: a lost play_done gives its
 *   place back (`repairedViewers`).
 * A PENDING node that reports ready becomes ACTIVE (once the control plane knows its address), and
 * its launch lifecycle action continues (the scaler continues it too if this step fails).
 *
 * A heartbeat never registers a node, and never says where the node is: nodes are registered by
 * the lifecycle path with the address the cloud gives, and a heartbeat in the name of a node that
 * is not registered, or DEAD, or with another secret, is refused.
 */
import type { FleetConfig } from "./config";
import { learnCpuProfile } from "./cpu-profile";
import { admittedNode, type FleetDeps, madeBy, type NodeCredential, protectIfNeeded } from "./fleet";
import { type FollowUps, followUp } from "./follow-ups";
import {
  cpuReadingKeptMs,
  findStream,
  type MediaNode,
  nextCpuSample,
  type StreamSlot,
  slotOf,
  streamMap,
  streamsLiveSince,
} from "./model";
import { type NodeChange, type NodeFields, type SlotCondition, unchangedSlot } from "./registry";
import { applyListed } from "./room-index";
import { MAX_ATTEMPTS } from "./streams";
import { repairedViewers } from "./viewers";

/** A stream that the node's `rtmp_stat` lists as publishing. */
export interface ReportedStream {
  readonly name: string;
  /** The publishing client's id (nginx-rtmp's `clientid`). */
  readonly clientId: string;
  /** Its players (clients that do not publish); absent from agents that do not count them. */
  readonly viewers?: number;
}

/** Streams a heartbeat may add to the registry at most (see above). */
export const MAX_STREAMS_ADDED_PER_BEAT = 5;

/** What a node's agent reports, in the node's name. */
export interface HeartbeatReport extends NodeCredential {
  /** nginx answers (its `rtmp_stat` was read). When false, `streams` is unknown and ignored. */
  readonly ready: boolean;
  /**
   * The rtmp nginx worker's CPU over the last period, in percent of one core (0-100): the node's
   * only CPU source; absent when the agent could not measure it.
   */
  readonly cpuPercent?: number;
  /**
   * The average number of publishing streams over the same period (the agent samples rtmp_stat
   * through it): what the CPU was spent on. Absent, the streams live all through the period count.
   */
  readonly streamsAverage?: number;
  /** The publishing streams of `rtmp_stat`. */
  readonly streams: readonly ReportedStream[];
}

/** How long a registered stream may be missing from the node's reports before it is removed (ms). */
export function reconcileGraceMs(config: FleetConfig): number {
  return 2 * config.heartbeatSeconds * 1000;
}

/**
 * The change a heartbeat makes to its node (pure), made only while the node's credential is good.
 * @param heldElsewhere streams live or reserved on other nodes: they are not added here
 */
export function reconcile(
  node: MediaNode,
  report: HeartbeatReport,
  now: number,
  config: FleetConfig,
  heldElsewhere: ReadonlySet<string> = new Set(),
): NodeChange {
  const put = streamMap<StreamSlot>();
  const remove: string[] = [];
  const expect = streamMap<SlotCondition>();
  const set: { -readonly [K in keyof NodeFields]: NodeFields[K] } = {};

  // A node that reports not ready does not count as alive (nginx is not answering), except while it boots.
  if (report.ready || node.state === "PENDING") set.lastHeartbeatAt = now;
  if (report.cpuPercent !== undefined) {
    // The agent's CPU is the average of its last period: pair it with the streams of that period.
    const window = now - config.heartbeatSeconds * 1000;
    const streams =
      report.streamsAverage ??
      streamsLiveSince(
        node,
        window,
        report.streams.map((s) => s.name),
      );
    const keepMs = cpuReadingKeptMs(config.heartbeatSeconds * 1000);
    const reading = { percent: report.cpuPercent, at: now, streams };
    set.cpu = nextCpuSample(node.cpu, reading, keepMs);
    set.cpuProfile = learnCpuProfile(node.cpuProfile, reading);
  }
  // Booting, silent or declared dead, a node that reports ready is back in placement.
  // A node cameras cannot reach yet (the cloud has given no address) is not placed: it stays PENDING.
  const reachable = node.rtmpBaseUrl !== "";
  if (report.ready && (node.state === "SILENT" || (node.state === "PENDING" && reachable))) {
    set.state = "ACTIVE";
    set.stateChangedAt = now;
  }

  if (report.ready && node.state !== "DEAD") {
    const reported = new Map(report.streams.map((s) => [s.name, s.clientId]));
    const viewersOf = new Map(report.streams.map((s) => [s.name, s.viewers]));
    for (const [name, slot] of Object.entries(node.streams)) {
      const clientId = reported.get(name);
      if (clientId !== undefined) {
        const viewers = repairedViewers(slot, viewersOf.get(name), now, reconcileGraceMs(config));
        if (
          slot.state === "RESERVED" ||
          slot.clientId !== clientId ||
          slot.missingSince !== undefined ||
          viewers !== undefined
        ) {
          // Players stay attached to the name in nginx-rtmp: their count goes on with the slot.
          const counted =
            viewers === undefined
              ? { viewers: slot.viewers, viewersChangedAt: slot.viewersChangedAt }
              : { viewers, viewersChangedAt: now };
          put[name] = { state: "LIVE", since: slot.state === "LIVE" ? slot.since : now, clientId, ...counted };
          expect[name] = unchangedSlot(slot);
        }
      } else if (slot.state === "LIVE") {
        if (slot.missingSince === undefined) {
          put[name] = { ...slot, missingSince: now };
          expect[name] = unchangedSlot(slot);
        } else if (now - slot.missingSince >= reconcileGraceMs(config)) {
          remove.push(name);
          expect[name] = unchangedSlot(slot);
        }
      }
    }
    const added = [...reported].filter(([name]) => !slotOf(node, name) && !heldElsewhere.has(name));
    for (const [name, clientId] of added.slice(0, MAX_STREAMS_ADDED_PER_BEAT)) {
      const viewers = viewersOf.get(name);
      put[name] = { state: "LIVE", since: now, clientId, ...(viewers ? { viewers, viewersChangedAt: now } : {}) };
      expect[name] = { absent: true };
    }
  }
  if (Object.keys(put).length > 0 || remove.length > 0) set.streamsChangedAt = now;

  return {
    nodeId: node.nodeId,
    when: { ...madeBy(report), states: [node.state], streams: expect },
    set,
    putStreams: put,
    removeStreams: remove,
    // Every stream written LIVE holds its claim; every one removed gives it back.
    claim: Object.fromEntries(Object.entries(put).map(([name, slot]) => [name, slot.clientId as string])),
    unclaim: remove,
    basis: node,
  };
}

/**
 * The outcome of a heartbeat: the node as written, and whether it just became ACTIVE. Its
 * follow-ups are continuing the launch and protecting the node.
 */
export interface HeartbeatOutcome extends FollowUps {
  readonly node: MediaNode;
  readonly becameActive: boolean;
}

/** What recording a heartbeat uses. */
export interface HeartbeatDeps extends FleetDeps {
  readonly config: FleetConfig;
}

/**
 * Records a heartbeat: reconciles the node's streams, lets its launch continue when it becomes
 * ACTIVE, and protects it if it holds streams.
 * @throws NodeRefusedError when the node is not registered, is DEAD, or presented another secret
 */
export async function recordHeartbeat(deps: HeartbeatDeps, report: HeartbeatReport): Promise<HeartbeatOutcome> {
  const { registry } = deps;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const now = deps.now();
    let node = admittedNode(await registry.getNode(report.nodeId), report);
    // Another node's stream is not added here: read the fleet only when the report has news.
    let heldElsewhere = new Set<string>();
    if (report.streams.some((s) => !slotOf(node, s.name))) {
      const others = (await registry.listNodes({ consistent: true })).filter((n) => n.nodeId !== report.nodeId);
      heldElsewhere = new Set(report.streams.filter((s) => findStream(others, s.name, now)).map((s) => s.name));
    }
    const wasPending = node.state === "PENDING";
    const outcome = await applyListed(
      registry,
      reconcile(node, report, now, deps.config, heldElsewhere),
      now,
      deps.config,
    );
    if (!outcome.applied) continue;
    node = outcome.node;
    const becameActive = wasPending && node.state === "ACTIVE";
    const written = node;
    const continueLaunch = async () => {
      if (becameActive) await deps.fleet.completeLaunch(written.nodeId, "CONTINUE");
    };
    const followUpErrors = await followUp(continueLaunch, () => protectIfNeeded(deps, written));
    return { node, becameActive, followUpErrors };
  }
  throw new Error(`heartbeat of ${report.nodeId}: the registry kept changing under ${MAX_ATTEMPTS} attempts`);
}
