/**
 * What a camera's requests do to the fleet, beyond the registry write: the use cases behind
 * `GET /resolve` and nginx-rtmp's `on_publish`. The resolve and publish handlers, and every
 * in-process fleet (tests, simulator), call these, so the rules below live here only:
 * - a node is protected from scale-in the moment it gets its first slot, not at the scaler's next run;
 * - a resolve that finds no room asks for a scale-out at once.
 * Both are follow-ups (`follow-ups.ts`): the camera's answer never depends on them.
 * A publisher's end needs no follow-up: it is `endStream` itself.
 */
import { type FleetDeps, protectIfNeeded } from "./fleet";
import { type FollowUps, followUp } from "./follow-ups";
import type { MediaNode } from "./model";
import type { ScaleOutRequests } from "./ports";
import {
  type PublishOutcome,
  type PublishReport,
  publishStream,
  type ResolveOutcome,
  resolveStream,
  type StreamDeps,
} from "./streams";

/** Seconds a camera is told to wait when no node has room (a node boots in about 90 s). */
export const RETRY_AFTER_NO_ROOM_SECONDS = 15;
/** Seconds a camera is told to wait after losing every race for a slot. */
export const RETRY_AFTER_CONTENDED_SECONDS = 1;

/** What the camera use cases use. */
export interface CameraDeps extends StreamDeps, FleetDeps {
  readonly scaleOut: ScaleOutRequests;
}

/** Whether this call protected the node, besides the follow-ups' failures. */
export interface ProtectionFollowUp extends FollowUps {
  /** The node was protected from scale-in by this call (it just got its first slot). */
  readonly nodeProtected: boolean;
}

/** The outcome of placing a camera. */
export type PlaceOutcome = ResolveOutcome & ProtectionFollowUp;

/** The outcome of admitting a publish. */
export type AdmitOutcome = PublishOutcome & ProtectionFollowUp;

/** Protects the node if its new slot is its first, as a follow-up. */
async function protectAfter(deps: FleetDeps, node: MediaNode): Promise<ProtectionFollowUp> {
  let nodeProtected = false;
  const followUpErrors = await followUp(async () => {
    nodeProtected = await protectIfNeeded(deps, node);
  });
  return { nodeProtected, followUpErrors };
}

/**
 * A camera asks where to publish (`GET /resolve`): its stream is placed (`resolveStream`), the
 * node that took a new reservation is protected, and no room anywhere asks for a scale-out (the
 * camera retries once a node is ready).
 */
export async function placeCamera(deps: CameraDeps, stream: string): Promise<PlaceOutcome> {
  const outcome = await resolveStream(deps, stream);
  if (outcome.kind === "placed" && outcome.created) return { ...outcome, ...(await protectAfter(deps, outcome.node)) };
  const followUpErrors =
    outcome.kind === "no_room" ? await followUp(() => deps.scaleOut.request(`no room for stream ${stream}`)) : [];
  return { ...outcome, nodeProtected: false, followUpErrors };
}

/**
 * nginx-rtmp asks whether a camera may publish (`on_publish`): the stream goes LIVE when allowed
 * (`publishStream`), and its node is protected if the stream is its first slot.
 */
export async function admitPublish(deps: StreamDeps & FleetDeps, report: PublishReport): Promise<AdmitOutcome> {
  const outcome = await publishStream(deps, report);
  if (outcome.kind !== "allowed") return { ...outcome, nodeProtected: false, followUpErrors: [] };
  return { ...outcome, ...(await protectAfter(deps, outcome.node)) };
}
