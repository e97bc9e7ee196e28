/**
 * `GET /play?stream=NAME&key=KEY`: where a viewer plays a live stream. Answers JSON, or the RTMP URL
 * alone with `Accept: text/plain`, so that `ffplay "$(curl -sf -H 'Accept: text/plain' URL)"`
 * works. The URL carries the viewer's key, which the node's `on_play` checks again. Reads only:
 * no answer, refusal or not, writes anything.
 */
import { locateStream } from "../core/viewers";
import { type ApiDeps, httpHandler } from "./api";
import { checkViewerKey, keyParam } from "./auth";
import { ApiError, type HttpEvent, type HttpResult, query, streamParam, streamUrl, urlAnswer } from "./http";

async function play(event: HttpEvent, deps: ApiDeps): Promise<HttpResult> {
  const params = query(event);
  const stream = streamParam(params.get("stream"));
  const key = keyParam(params.get("key"));
  await checkViewerKey(deps, stream, key);

  const found = await locateStream(deps, stream);
  if (found.kind === "not_live") throw new ApiError(404, "not_live", `stream ${stream} is not live`);
  if (found.kind === "full") {
    throw new ApiError(
      429,
      "viewer_cap_reached",
      `stream ${stream} has ${found.slot.viewers ?? 0} viewers, as many as it may (maxViewersPerStream); retry later`,
    );
  }
  const playUrl = streamUrl(found.node.rtmpBaseUrl, stream, key);
  return urlAnswer(event, playUrl, { stream, nodeId: found.node.nodeId, playUrl });
}

/** The `GET /play` handler over the given dependencies. */
export function createPlayHandler(deps: ApiDeps) {
  return httpHandler(deps, play);
}
