/**
 * Heartbeats: each node's agent reports its CPU, the streams its `rtmp_stat` lists, and whether
 * nginx answers. The registry is reconciled with that list, so it heals from lost callbacks:
 * - a registered stream the node no longer lists is marked missing, and removed once it has been
 *   missing for the grace period (a stream published just after the agent read `rtmp_stat` is
 *   listed by the next heartbeat, well within it);
 * - a stream the node lists but the registry lacks is added (it is live: reality wins), unless it
 *   is live on another node;
 * - a reservation the node lists as publishing becomes live (its `on_publish` answer was lost).
 * A PENDING node that reports ready becomes ACTIVE, and its launch lifecycle action continues
 * (the scaler continues it too if this step fails).
 */
import type { FleetConfig } from "./config";
import { type FleetDeps, protectIfNeeded } from "./fleet";
import { type FollowUps, followUp } from "./follow-ups";
import {
  cpuReadingKeptMs,
  findStream,
  type MediaNode,
  nextCpuSample,
  pendingNode,
  type StreamSlot,
  slotOf,
  streamMap,
  streamsLiveSince,
} from "./model";
import { type NodeChange, type NodeFields, type SlotCondition, unchangedSlot } from "./registry";
import { MAX_ATTEMPTS } from "./streams";

/** A stream that the node's `rtmp_stat` lists as publishing. */
export interface ReportedStream {
  readonly name: string;
  /** The publishing client's id (nginx-rtmp's `clientid`). */
  readonly clientId: string;
}

/** What a node's agent reports. */
export interface HeartbeatReport {
  readonly nodeId: string;
  /** Where cameras publish on this node, e.g. `rtmp://203.0.113.7:1935/live`. */
  readonly rtmpBaseUrl: string;
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
 * The change a heartbeat makes to its node (pure).
 * @param liveElsewhere streams live on other nodes: they are not added here
 */
export function reconcile(
  node: MediaNode,
  report: HeartbeatReport,
  now: number,
  config: FleetConfig,
  liveElsewhere: ReadonlySet<string> = new Set(),
): NodeChange {
  const put = streamMap<StreamSlot>();
  const remove: string[] = [];
  const expect = streamMap<SlotCondition>();
  const set: { -readonly [K in keyof NodeFields]: NodeFields[K] } = {};

  // A node that reports not ready does not count as alive (nginx is not answering), except while it boots.
  if (report.ready || node.state === "PENDING") set.lastHeartbeatAt = now;
  if (report.rtmpBaseUrl !== node.rtmpBaseUrl) set.rtmpBaseUrl = report.rtmpBaseUrl;
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
    set.cpu = nextCpuSample(node.cpu, { percent: report.cpuPercent, at: now, streams }, keepMs);
  }
  // Booting, silent or declared dead, a node that reports ready is back in placement.
  if (report.ready && (node.state === "PENDING" || node.state === "SILENT" || node.state === "DEAD")) {
    set.state = "ACTIVE";
    set.stateChangedAt = now;
  }

  if (report.ready && node.state !== "DEAD") {
    const reported = new Map(report.streams.map((s) => [s.name, s.clientId]));
    for (const [name, slot] of Object.entries(node.streams)) {
      const clientId = reported.get(name);
      if (clientId !== undefined) {
        if (slot.state === "RESERVED" || slot.clientId !== clientId || slot.missingSince !== undefined) {
          put[name] = { state: "LIVE", since: slot.state === "LIVE" ? slot.since : now, clientId };
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
    for (const [name, clientId] of reported) {
      if (slotOf(node, name) || liveElsewhere.has(name)) continue;
      put[name] = { state: "LIVE", since: now, clientId };
      expect[name] = { absent: true };
    }
  } else if (report.ready && node.state === "DEAD") {
    // Back from the dead: its streams were removed when it was declared dead; take what it carries.
    for (const { name, clientId } of report.streams) {
      if (liveElsewhere.has(name)) continue;
      put[name] = { state: "LIVE", since: now, clientId };
      expect[name] = unchangedSlot(slotOf(node, name));
    }
  }
  if (Object.keys(put).length > 0 || remove.length > 0) set.streamsChangedAt = now;

  return {
    nodeId: node.nodeId,
    when: { states: [node.state], streams: expect },
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
  /** The node record did not exist and was created from this heartbeat. */
  readonly registered: boolean;
}

/** What recording a heartbeat uses. */
export interface HeartbeatDeps extends FleetDeps {
  readonly config: FleetConfig;
}

/**
 * Records a heartbeat: registers the node if it is unknown (its launch event was missed), reconciles
 * its streams, lets its launch continue when it becomes ACTIVE, and protects it if it holds streams.
 */
export async function recordHeartbeat(deps: HeartbeatDeps, report: HeartbeatReport): Promise<HeartbeatOutcome> {
  const { registry } = deps;
  let registered = false;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const now = deps.now();
    let node = await registry.getNode(report.nodeId);
    if (!node) {
      const fields = { launchedAt: now, rtmpBaseUrl: report.rtmpBaseUrl, protectedFromScaleIn: false };
      registered = await registry.createNode(pendingNode(report.nodeId, now, fields));
      continue;
    }
    // Another node's live stream is not added here: read the fleet only when the report has news.
    let liveElsewhere = new Set<string>();
    if (report.streams.some((s) => !slotOf(node as MediaNode, s.name))) {
      const nodes = await registry.listNodes({ consistent: true });
      liveElsewhere = new Set(
        report.streams
          .map((s) =>
            findStream(
              nodes.filter((n) => n.nodeId !== report.nodeId),
              s.name,
              now,
            ),
          )
          .filter((found) => found?.state === "LIVE")
          .map((found) => found?.stream as string),
      );
    }
    const wasPending = node.state === "PENDING";
    const outcome = await registry.applyChange(reconcile(node, report, now, deps.config, liveElsewhere));
    if (!outcome.applied) continue;
    node = outcome.node;
    const becameActive = wasPending && node.state === "ACTIVE";
    const written = node;
    const continueLaunch = async () => {
      if (becameActive) await deps.fleet.completeLaunch(written.nodeId, "CONTINUE");
    };
    const followUpErrors = await followUp(continueLaunch, () => protectIfNeeded(deps, written));
    return { node, becameActive, registered, followUpErrors };
  }
  throw new Error(`heartbeat of ${report.nodeId}: the registry kept changing under ${MAX_ATTEMPTS} attempts`);
}
