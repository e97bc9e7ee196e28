/**
 * nginx-rtmp's callbacks, through the node's local shim: `POST /hooks/publish` (`on_publish`: 2xx
 * allows the camera, anything else drops it) and `POST /hooks/done` (`on_publish_done` or
 * `on_done`: the answer is ignored by nginx, so it is 2xx for every well-formed request).
 */

import { METRIC } from "../contract";
import { admitPublish, endPublish } from "../core/cameras";
import type { NodeCredential } from "../core/fleet";
import { CLIENT_ID } from "../core/names";
import type { PublishDenial } from "../core/streams";
import { type ApiDeps, httpHandler, logFollowUps } from "./api";
import { checkCamera, nodeCredential } from "./auth";
import { CORRELATION_ARG, correlationParam, followCamera, mintedCorrelationId } from "./correlation";
import { ApiError, type Denial, denied, formBody, type HttpEvent, type HttpResult, json, streamParam } from "./http";

/** A parsed nginx-rtmp callback, in the name of the node whose shim sent it. */
export interface NodeCallback extends NodeCredential {
  readonly call: string;
  readonly stream: string;
  readonly clientId: string;
  /** The camera's correlation id from its URL (`cid=`), when it resolved first. */
  readonly correlationId?: string;
  /** Every field of the body, first occurrence of each (nginx's own fields come before the camera's). */
  readonly fields: Map<string, string>;
}

/**
 * Parses the node's credential (checked by the use case against the node's record) and the
 * callback body.
 * @param calls the `call` values this route accepts
 */
export function parseCallback(event: HttpEvent, calls: readonly string[]): NodeCallback {
  const credential = nodeCredential(event);
  const fields = formBody(event);
  const call = fields.get("call") ?? "";
  if (!calls.includes(call)) {
    throw new ApiError(400, "unexpected_call", `expected call=${calls.join(" or call=")}, got '${call}'`);
  }
  const stream = streamParam(fields.get("name"));
  const clientId = fields.get("clientid") ?? "";
  if (!CLIENT_ID.test(clientId))
    throw new ApiError(400, "invalid_clientid", "clientid must be nginx-rtmp's numeric client id");
  const correlationId = correlationParam(fields.get(CORRELATION_ARG));
  return { ...credential, call, stream, clientId, correlationId, fields };
}

const DENIALS: Record<PublishDenial, Denial> = {
  unknown_node: { status: 403, message: "this node is not registered" },
  node_not_active: { status: 403, message: "this node does not take new streams (pending, draining or dead)" },
  node_full: { status: 403, message: "this node is full; resolve the stream again" },
  not_first_in_fill_order: {
    status: 403,
    message: "an older node has room: resolve the stream, or retry the fixed ingest address",
  },
  live_elsewhere: { status: 403, message: "this stream is live on another node" },
  already_live: { status: 403, message: "this stream is live on this node from another connection" },
  already_ended: { status: 403, message: "this connection already ended" },
  contended: { status: 503, message: "too many concurrent changes on this node; retry" },
};

/** The camera behind a callback, checked by the key in its URL or by its address (nginx's `addr`). */
function checkCameraOf(deps: ApiDeps, callback: NodeCallback): Promise<void> {
  return checkCamera(deps, callback.stream, callback.fields.get("key"), callback.fields.get("addr") ?? "");
}

/** Logs the rest of this callback under its camera's correlation id, or one minted from the connection. */
function followCameraOf(deps: ApiDeps, callback: NodeCallback): void {
  followCamera(deps.logger, callback.correlationId ?? mintedCorrelationId(callback.nodeId, callback.clientId));
}

async function publish(event: HttpEvent, deps: ApiDeps): Promise<HttpResult> {
  const callback = parseCallback(event, ["publish"]);
  followCameraOf(deps, callback);
  await checkCameraOf(deps, callback);
  const outcome = await admitPublish(deps, callback);
  deps.telemetry.count(outcome.kind === "denied" ? METRIC.publishDenied : METRIC.publishAllowed);
  if (outcome.kind === "denied") {
    deps.logger.warn("publish denied", { stream: callback.stream, nodeId: callback.nodeId, reason: outcome.reason });
    throw denied(DENIALS, outcome.reason);
  }
  deps.logger.info("stream live", { stream: callback.stream, nodeId: callback.nodeId, movedFrom: outcome.movedFrom });
  logFollowUps(deps.logger, outcome, { stream: callback.stream, nodeId: callback.nodeId });
  return json(200, { result: "allowed", stream: callback.stream, nodeId: callback.nodeId });
}

async function done(event: HttpEvent, deps: ApiDeps): Promise<HttpResult> {
  const callback = parseCallback(event, ["done", "publish_done"]);
  followCameraOf(deps, callback);
  // nginx-rtmp reports the end of publishes it never admitted too (the client left while
  // on_publish was pending), with whatever key the client sent: without the stream's key,
  // nothing is written.
  await checkCameraOf(deps, callback);
  const outcome = await endPublish(deps, callback);
  if (outcome.kind === "removed") {
    deps.telemetry.count(METRIC.streamsEnded);
    deps.logger.info("stream ended", { stream: callback.stream, nodeId: callback.nodeId });
  }
  logFollowUps(deps.logger, outcome, { stream: callback.stream, nodeId: callback.nodeId });
  return json(200, { result: outcome.kind, stream: callback.stream });
}

/** The `on_publish` handler over the given dependencies. */
export function createPublishHandler(deps: ApiDeps) {
  return httpHandler(deps, publish);
}

/** The `on_done` / `on_publish_done` handler over the given dependencies. */
export function createDoneHandler(deps: ApiDeps) {
  return httpHandler(deps, done);
}
