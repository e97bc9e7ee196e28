/**
 * `POST /nodes/heartbeat` (JSON, from the node agent through the node's shim): the node's CPU, the
 * publishing streams of its `rtmp_stat` (with their players), and whether nginx answers. Answers the node's state. The
 * same function serves `POST /nodes/boot` (./boot.ts).
 */

import { METRIC } from "../contract";
import type { NodeCredential } from "../core/fleet";
import type { HeartbeatReport, ReportedStream } from "../core/heartbeat";
import { recordHeartbeat } from "../core/heartbeat";
import { CLIENT_ID, streamNameProblem } from "../core/names";
import { type ApiDeps, byRouteKey, httpHandler, logFollowUps } from "./api";
import { nodeCredential } from "./auth";
import { bootReport } from "./boot";
import { ApiError, type HttpEvent, type HttpResult, json, jsonBody } from "./http";

/** Most streams one node may report: a node carries tens, and a report stays well under the body limit. */
export const MAX_REPORTED_STREAMS = 250;

/** Most players one stream may report: nginx-rtmp's connections of a node (`max_connections`) are far fewer. */
export const MAX_REPORTED_VIEWERS = 100_000;

const bad = (message: string) => new ApiError(400, "invalid_heartbeat", message);

/**
 * Validates a heartbeat body. A node's address is never taken from it (the control plane has it
 * from the cloud): an `rtmpBaseUrl` that older agents send is ignored.
 * @throws ApiError 400 naming the bad field
 */
export function parseHeartbeat(credential: NodeCredential, body: Record<string, unknown>): HeartbeatReport {
  const { ready, cpuPercent, streamsAverage, streams } = body;
  if (typeof ready !== "boolean") throw bad("ready must be true or false");
  if (cpuPercent !== undefined && (typeof cpuPercent !== "number" || !(cpuPercent >= 0 && cpuPercent <= 100))) {
    throw bad("cpuPercent must be a number from 0 to 100");
  }
  if (
    streamsAverage !== undefined &&
    (typeof streamsAverage !== "number" || !(streamsAverage >= 0 && streamsAverage <= MAX_REPORTED_STREAMS))
  ) {
    throw bad(`streamsAverage must be a number from 0 to ${MAX_REPORTED_STREAMS}`);
  }
  if (!Array.isArray(streams) || streams.length > MAX_REPORTED_STREAMS) {
    throw bad(`streams must be a list of at most ${MAX_REPORTED_STREAMS}`);
  }
  const parsed: ReportedStream[] = streams.map((s: unknown, i) => {
    const { name, clientId, viewers } = (s ?? {}) as Record<string, unknown>;
    const problem = streamNameProblem(typeof name === "string" ? name : undefined);
    if (problem) throw bad(`streams[${i}].name: ${problem}`);
    if (typeof clientId !== "string" || !CLIENT_ID.test(clientId)) {
      throw bad(`streams[${i}].clientId must be nginx-rtmp's numeric client id, as a string`);
    }
    if (viewers === undefined) return { name: name as string, clientId };
    if (typeof viewers !== "number" || !Number.isInteger(viewers) || viewers < 0 || viewers > MAX_REPORTED_VIEWERS) {
      throw bad(`streams[${i}].viewers must be a whole number from 0 to ${MAX_REPORTED_VIEWERS}`);
    }
    return { name: name as string, clientId, viewers };
  });
  return {
    ...credential,
    ready,
    cpuPercent: cpuPercent as number | undefined,
    streamsAverage: streamsAverage as number | undefined,
    streams: parsed,
  };
}

async function heartbeat(event: HttpEvent, deps: ApiDeps): Promise<HttpResult> {
  const credential = nodeCredential(event);
  const { nodeId } = credential;
  const report = parseHeartbeat(credential, jsonBody(event));
  const outcome = await recordHeartbeat(deps, report);
  deps.telemetry.count(METRIC.heartbeats);
  if (outcome.becameActive) deps.logger.info("node ready: ACTIVE", { nodeId });
  logFollowUps(deps.logger, outcome, { nodeId });
  return json(200, {
    nodeId,
    state: outcome.node.state,
    protectedFromScaleIn: outcome.node.protectedFromScaleIn,
    heartbeatSeconds: deps.config.heartbeatSeconds,
  });
}

/**
 * The heartbeat function's handler over the given dependencies: the node's reports, its agent's
 * heartbeats and its bootstrap's progress (the same caller, credential and grants).
 */
export function createHeartbeatHandler(deps: ApiDeps) {
  return httpHandler(deps, byRouteKey({ "POST /nodes/heartbeat": heartbeat, "POST /nodes/boot": bootReport }));
}
