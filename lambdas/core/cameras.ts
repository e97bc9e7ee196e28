/**
 * What a camera's requests do to the fleet, beyond the registry write: the use cases behind
 * `GET /resolve` and nginx-rtmp's `on_publish`. The resolve and publish handlers, and every
 * in-process fleet (tests, simulator), call these, so the rules below live here only:
 * - a node is protected from scale-in the moment it gets its first slot, not at the scaler's next run;
 * - a camera that finds no room (a resolve, or an unresolved publish behind the fixed ingest
 *   address) is noted as waiting, so the scaler launches for it, and asks for a scale-out at once;
 * - a publish or a publisher's end that may have changed the first node in fill order moves the
 *   fixed ingest address (`ingest.ts`), when the fleet has one.
 * All are follow-ups (`follow-ups.ts`): the camera's answer never depends on them.
 */
import { type FleetDeps, protectIfNeeded } from "./fleet";
import { type FollowUps, followUp } from "./follow-ups";
import { mayMoveIngest, pointIngest } from "./ingest";
import type { MediaNode } from "./model";
import type { IngestTarget, ScaleOutRequests } from "./ports";
import {
  type DoneOutcome,
  type DoneReport,
  endStream,
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
/**
 * Seconds a camera refused for want of room counts as waiting (`Registry.noteWaiting`): four of its
 * retries. A camera still retrying is noted again at each refusal, so it counts until a node holds
 * it; a late retry or two does not drop it; and one that gave up stops counting within a minute, so
 * the scaler launches for no camera that left.
 */
export const WAITING_SECONDS = 4 * RETRY_AFTER_NO_ROOM_SECONDS;

/** The fixed ingest address's target, on fleets that have one. */
export interface IngestOption {
  readonly ingest?: IngestTarget;
}

/** What the camera use cases use. */
export interface CameraDeps extends StreamDeps, FleetDeps, IngestOption {
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

/** Moves the fixed ingest address if this change on `node` may have changed the first node in fill order. */
async function moveIngestAfter(deps: StreamDeps & IngestOption, node: MediaNode): Promise<void> {
  const { ingest } = deps;
  if (ingest && mayMoveIngest(node, deps.now(), deps.config)) await pointIngest({ ...deps, ingest }, node);
}

/** Protects the node if its new slot is its first, as a follow-up. */
async function protectAfter(deps: FleetDeps, node: MediaNode): Promise<ProtectionFollowUp> {
  let nodeProtected = false;
  const followUpErrors = await followUp(async () => {
    nodeProtected = await protectIfNeeded(deps, node);
  });
  return { nodeProtected, followUpErrors };
}

/**
 * The camera of `stream` found no room: it is noted as waiting for `WAITING_SECONDS`, so the scaler
 * launches for the cameras waiting and not only for free slots, then a scale-out is asked for (in
 * this order, so the run it wakes counts this camera).
 */
function awaitRoom(deps: CameraDeps, stream: string): Promise<Error[]> {
  return followUp(
    () => deps.registry.noteWaiting(stream, deps.now() + WAITING_SECONDS * 1000),
    () => deps.scaleOut.request(`no room for stream ${stream}`),
  );
}

/**
 * A camera asks where to publish (`GET /resolve`): its stream is placed (`resolveStream`), the
 * node that took a new reservation is protected, and no room anywhere notes the camera as waiting
 * and asks for a scale-out (`awaitRoom`; the camera retries once a node is ready).
 */
export async function placeCamera(deps: CameraDeps, stream: string): Promise<PlaceOutcome> {
  const outcome = await resolveStream(deps, stream);
  if (outcome.kind === "placed" && outcome.created) return { ...outcome, ...(await protectAfter(deps, outcome.node)) };
  const followUpErrors = outcome.kind === "no_room" ? await awaitRoom(deps, stream) : [];
  return { ...outcome, nodeProtected: false, followUpErrors };
}

/**
 * nginx-rtmp asks whether a camera may publish (`on_publish`): the stream goes LIVE when allowed
 * (`publishStream`), its node is protected if the stream is its first slot, and the fixed ingest
 * address moves on if the node is now full. A camera refused because no node has room, holding no
 * slot (it came through the fixed ingest address without resolving), waits as a resolve's does.
 */
export async function admitPublish(deps: CameraDeps, report: PublishReport): Promise<AdmitOutcome> {
  const outcome = await publishStream(deps, report);
  if (outcome.kind !== "allowed") {
    const followUpErrors = outcome.waitsForRoom ? await awaitRoom(deps, report.stream) : [];
    return { ...outcome, nodeProtected: false, followUpErrors };
  }
  const protection = await protectAfter(deps, outcome.node);
  const moved = await followUp(() => moveIngestAfter(deps, outcome.node));
  return { ...outcome, ...protection, followUpErrors: [...protection.followUpErrors, ...moved] };
}

/**
 * nginx-rtmp reports a publisher's end (`on_publish_done`, `on_done`): the stream is removed
 * (`endStream`), and the fixed ingest address moves back if its node has room again.
 */
export async function endPublish(
  deps: StreamDeps & IngestOption,
  report: DoneReport,
): Promise<DoneOutcome & FollowUps> {
  const outcome = await endStream(deps, report);
  if (outcome.kind !== "removed") return { ...outcome, followUpErrors: [] };
  return { ...outcome, followUpErrors: await followUp(() => moveIngestAfter(deps, outcome.node)) };
}
