/**
 * Viewers: where a player finds a live stream (`GET /play`), and whether nginx-rtmp lets it in
 * (`on_play`) or has let it go (`on_play_done`). Each stream admits at most `maxViewersPerStream`
 * players at once: the count is kept on the stream's slot, and "under the cap" and "one more" are
 * one conditional write, so a burst of players cannot pass the cap between a read and a write.
 *
 * A play_done that is lost, or that overtakes its own play, leaves the count off by one; the
 * node's heartbeat repairs it from `rtmp_stat` (`repairedViewers`).
 */
import type { FleetConfig } from "./config";
import { admittedNode, madeBy, type NodeCredential } from "./fleet";
import { type MediaNode, type StreamSlot, slotOf } from "./model";
import type { Registry } from "./registry";
import { MAX_ATTEMPTS } from "./streams";

/** What the viewer use cases use: the registry, the clock and the policy (its viewer cap). */
export interface ViewerDeps {
  readonly registry: Registry;
  readonly config: FleetConfig;
  /** The current time (epoch ms). */
  readonly now: () => number;
}

/** Why a player is refused. */
export type ViewerDenial = "not_live_here" | "viewer_cap_reached" | "contended";

/** Whether a slot takes one more player (pure): it must be live, and under the cap. */
export function viewerVerdict(slot: StreamSlot | undefined, config: FleetConfig): "room" | ViewerDenial {
  if (slot?.state !== "LIVE") return "not_live_here";
  if ((slot.viewers ?? 0) >= config.maxViewersPerStream) return "viewer_cap_reached";
  return "room";
}

/** Where a viewer finds a stream. */
export type StreamLocation =
  | { readonly kind: "live"; readonly node: MediaNode; readonly slot: StreamSlot }
  | { readonly kind: "full"; readonly node: MediaNode; readonly slot: StreamSlot }
  | { readonly kind: "not_live" };

/**
 * Where `stream` is live (`GET /play`): its claim names the node, and the node's record must still
 * hold it LIVE. `full` when it has as many players as the cap allows (the next one would be
 * refused by `on_play`). Reads only.
 */
export async function locateStream(deps: ViewerDeps, stream: string): Promise<StreamLocation> {
  const claim = await deps.registry.claimOf(stream);
  const node = claim && (await deps.registry.getNode(claim.nodeId));
  const slot = node && node.state !== "DEAD" ? slotOf(node, stream) : undefined;
  if (!node || slot?.state !== "LIVE") return { kind: "not_live" };
  return { kind: viewerVerdict(slot, deps.config) === "room" ? "live" : "full", node, slot };
}

/** A player's `on_play` or `on_play_done`, reported by a node in its name. */
export interface ViewerReport extends NodeCredential {
  readonly stream: string;
}

/** The outcome of a play. */
export type AdmitViewerOutcome =
  | { readonly kind: "admitted"; readonly viewers: number }
  | { readonly kind: "denied"; readonly reason: ViewerDenial };

/**
 * nginx-rtmp asks whether a player may play `report.stream` on this node (`on_play`): yes while the
 * stream is LIVE here with fewer players than the cap, counted in the same write. No read first:
 * a write that fails returns the node as it is, which says why.
 * @throws NodeRefusedError when the node is not registered, is DEAD, or presented another secret
 */
export async function admitViewer(deps: ViewerDeps, report: ViewerReport): Promise<AdmitViewerOutcome> {
  const { stream } = report;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const outcome = await deps.registry.applyChange({
      nodeId: report.nodeId,
      when: {
        ...madeBy(report),
        streams: { [stream]: { state: "LIVE", viewers: { below: deps.config.maxViewersPerStream } } },
      },
      viewers: { [stream]: { by: 1, at: deps.now() } },
    });
    if (outcome.applied) return { kind: "admitted", viewers: slotOf(outcome.node, stream)?.viewers ?? 1 };
    const verdict = viewerVerdict(slotOf(admittedNode(outcome.node, report), stream), deps.config);
    if (verdict !== "room") return { kind: "denied", reason: verdict };
    // A player left between the count this write saw and now: count again.
  }
  return { kind: "denied", reason: "contended" };
}

/** The outcome of a play_done: whether a player's place was given back. */
export type ReleaseViewerOutcome = { readonly kind: "released" } | { readonly kind: "ignored" };

/**
 * A player left (`on_play_done`): its place is given back, if the stream is still LIVE here with a
 * player counted. Anything else (the stream ended, a duplicate) changes nothing.
 * @throws NodeRefusedError when the node is not registered, is DEAD, or presented another secret
 */
export async function releaseViewer(deps: ViewerDeps, report: ViewerReport): Promise<ReleaseViewerOutcome> {
  const outcome = await deps.registry.applyChange({
    nodeId: report.nodeId,
    when: { ...madeBy(report), streams: { [report.stream]: { state: "LIVE", viewers: { atLeast: 1 } } } },
    viewers: { [report.stream]: { by: -1, at: deps.now() } },
  });
  if (outcome.applied) return { kind: "released" };
  admittedNode(outcome.node, report);
  return { kind: "ignored" };
}

/**
 * The viewer count a heartbeat writes on a live slot (pure), or undefined to leave it: the node's
 * own count from `rtmp_stat` when it differs from the registry's and no play or play_done has
 * changed the registry's for `graceMs` (the node's figure was read before any of those callbacks
 * in flight could show in it). So a lost play_done gives its place back within the grace period,
 * and a player admitted while the agent was reading is not forgotten.
 */
export function repairedViewers(
  slot: StreamSlot,
  reported: number | undefined,
  now: number,
  graceMs: number,
): number | undefined {
  if (reported === undefined || reported === (slot.viewers ?? 0)) return undefined;
  return now - (slot.viewersChangedAt ?? slot.since) >= graceMs ? reported : undefined;
}
