/**
 * nginx-rtmp's player callbacks, through the node's local shim: `POST /hooks/play` (`on_play`: 2xx
 * lets the player in, anything else refuses it) and `POST /hooks/play_done` (`on_play_done`: the
 * answer is ignored by nginx). Both carry the play URL's query, hence the viewer's key: without a
 * good one, nothing is written. One Lambda serves both routes; the path says which call it is.
 */
import { METRIC } from "../contract";
import { admitViewer, releaseViewer, type ViewerDenial } from "../core/viewers";
import { type ApiDeps, httpHandler } from "./api";
import { checkViewerKey } from "./auth";
import { parseCallback } from "./hooks";
import { ApiError, type Denial, denied, type HttpEvent, type HttpResult, json } from "./http";

const DENIALS: Record<ViewerDenial, Denial> = {
  not_live_here: { status: 403, message: "this stream is not live on this node" },
  viewer_cap_reached: { status: 403, message: "this stream has as many viewers as it may (maxViewersPerStream)" },
  contended: { status: 503, message: "too many players joining this stream at once; retry" },
};

async function play(event: HttpEvent, deps: ApiDeps): Promise<HttpResult> {
  const callback = parseCallback(event, ["play"]);
  await checkViewerKey(deps, callback.stream, callback.fields.get("key"));
  const outcome = await admitViewer(deps, callback);
  if (outcome.kind === "denied") {
    deps.telemetry.count(METRIC.viewersRefused);
    deps.logger.warn("play refused", { stream: callback.stream, nodeId: callback.nodeId, reason: outcome.reason });
    throw denied(DENIALS, outcome.reason);
  }
  deps.telemetry.count(METRIC.viewersAdmitted);
  return json(200, { result: "allowed", stream: callback.stream, nodeId: callback.nodeId, viewers: outcome.viewers });
}

async function playDone(event: HttpEvent, deps: ApiDeps): Promise<HttpResult> {
  const callback = parseCallback(event, ["play_done"]);
  await checkViewerKey(deps, callback.stream, callback.fields.get("key"));
  const outcome = await releaseViewer(deps, callback);
  return json(200, { result: outcome.kind, stream: callback.stream });
}

/** Each route of this Lambda, by path. */
const CALLS: Readonly<Record<string, (event: HttpEvent, deps: ApiDeps) => Promise<HttpResult>>> = {
  "/hooks/play": play,
  "/hooks/play_done": playDone,
};

async function viewerHook(event: HttpEvent, deps: ApiDeps): Promise<HttpResult> {
  const call = Object.hasOwn(CALLS, event.rawPath) ? CALLS[event.rawPath] : undefined;
  if (!call) throw new ApiError(404, "not_found", `no viewer callback at ${event.rawPath}`);
  return call(event, deps);
}

/** The `on_play` and `on_play_done` handler over the given dependencies. */
export function createViewerHooksHandler(deps: ApiDeps) {
  return httpHandler(deps, viewerHook);
}
