/**
 * `GET /resolve?stream=NAME[&key=KEY]`: where a camera should publish. Answers JSON, or the RTMP URL
 * alone with `Accept: text/plain`, so that `ffmpeg ... -f flv "$(curl -sf URL)"` works. On a fleet
 * with a fixed ingest address the answer names it too (`fixedUrl`); with RTMPS on, the URL to
 * publish to is the fixed address's rtmps:// one: the nodes speak plain RTMP only, TLS ends at the
 * load balancer, which leads to the node first in fill order (the one just reserved, or the next
 * if the address has moved since: `on_publish` then moves the reservation there).
 */
import { METRIC } from "../contract";
import { placeCamera, RETRY_AFTER_CONTENDED_SECONDS, RETRY_AFTER_NO_ROOM_SECONDS } from "../core/cameras";
import { ingestBaseUrl } from "../core/ingest";
import { type ApiDeps, httpHandler, logFollowUps } from "./api";
import { checkCamera, keyParam } from "./auth";
import { CORRELATION_ARG, followCamera } from "./correlation";
import { ApiError, type HttpEvent, type HttpResult, query, streamParam, streamUrl, urlAnswer } from "./http";

async function resolve(event: HttpEvent, deps: ApiDeps): Promise<HttpResult> {
  // This request's id follows the camera: into its URL, then the node's callbacks.
  const correlationId = event.requestContext.requestId;
  followCamera(deps.logger, correlationId);
  const params = query(event);
  const stream = streamParam(params.get("stream"));
  const key = keyParam(params.get("key"));
  await checkCamera(deps, stream, key, event.requestContext.http.sourceIp);

  const outcome = await placeCamera(deps, stream);
  deps.telemetry.count(METRIC.resolves);
  for (const nodeId of outcome.refusedNodes) {
    deps.telemetry.count(METRIC.nodeWritesRefused);
    deps.logger.error("the registry refused a change of this node's record: passed over", { nodeId, stream });
  }
  if (outcome.kind === "no_room") {
    deps.telemetry.count(METRIC.resolveNoCapacity);
    deps.logger.warn("no room: the camera waits, a scale-out was requested", { stream });
    logFollowUps(deps.logger, outcome, { stream });
    throw new ApiError(503, "no_capacity", "every node is full; a new node is being launched, retry shortly", {
      "retry-after": String(RETRY_AFTER_NO_ROOM_SECONDS),
    });
  }
  if (outcome.kind === "contended") {
    throw new ApiError(503, "busy", "too many cameras are being placed at once; retry", {
      "retry-after": String(RETRY_AFTER_CONTENDED_SECONDS),
    });
  }
  const { stream: placed, node, created } = outcome;
  const address = deps.ingestAddress;
  // The fixed address is typed into a camera once: it carries no one resolve's correlation id.
  const fixedUrl = address && streamUrl(ingestBaseUrl(address), stream, key);
  const base = address?.tls ? ingestBaseUrl(address) : node.rtmpBaseUrl;
  const rtmpUrl = streamUrl(base, stream, key, { [CORRELATION_ARG]: correlationId });
  if (created) deps.logger.info("stream reserved", { stream, nodeId: node.nodeId });
  logFollowUps(deps.logger, outcome, { stream, nodeId: node.nodeId });
  return urlAnswer(event, rtmpUrl, {
    stream,
    nodeId: node.nodeId,
    rtmpUrl,
    state: placed.state,
    expiresAt: placed.expiresAt === undefined ? null : new Date(placed.expiresAt).toISOString(),
    correlationId,
    ...(fixedUrl ? { fixedUrl } : {}),
  });
}

/** The resolve handler over the given dependencies. */
export function createResolveHandler(deps: ApiDeps) {
  return httpHandler(deps, resolve);
}
