/**
 * Operator views of the registry: `GET /nodes`, `GET /streams` and `GET /events`. When an operator token is set
 * they need `Authorization: Bearer <token>`.
 */
import type { FleetConfig } from "../core/config";
import { heldStreams, listStreams, type MediaNode, slotOf } from "../core/model";
import { byFillOrder, estimatedCpu, isFull, slotLimit } from "../core/placement";
import { idleSince, silenceBreaker } from "../core/scaling-plan";
import { type ApiDeps, httpHandler } from "./api";
import { authorizeOperator } from "./auth";
import { type HttpEvent, type HttpResult, json } from "./http";

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** A node as the operator sees it. */
export function nodeView(node: MediaNode, now: number, config: FleetConfig) {
  const held = heldStreams(node, now);
  return {
    nodeId: node.nodeId,
    state: node.state,
    rtmpBaseUrl: node.rtmpBaseUrl,
    launchedAt: iso(node.launchedAt),
    stateChangedAt: iso(node.stateChangedAt),
    lastHeartbeatAt: iso(node.lastHeartbeatAt),
    cpuPercent: node.cpu?.percent ?? null,
    cpuAt: iso(node.cpu?.at),
    estimatedCpuPercent: Math.round(estimatedCpu(node, held.length, config) * 10) / 10,
    streams: held.filter((name) => slotOf(node, name)?.state === "LIVE").length,
    reservations: held.filter((name) => slotOf(node, name)?.state === "RESERVED").length,
    viewers: held.reduce((sum, name) => sum + (slotOf(node, name)?.viewers ?? 0), 0),
    slotLimit: slotLimit(node, config),
    full: isFull(node, now, config),
    protectedFromScaleIn: node.protectedFromScaleIn,
    idleSince: iso(idleSince(node, now)),
  };
}

async function nodes(event: HttpEvent, deps: ApiDeps): Promise<HttpResult> {
  await authorizeOperator(event, deps);
  const now = deps.now();
  const all = (await deps.registry.listNodes()).sort(byFillOrder);
  return json(200, {
    nodes: all.map((node) => nodeView(node, now, deps.config)),
    silenceBreaker: silenceBreaker(all, deps.config, now),
  });
}

async function streams(event: HttpEvent, deps: ApiDeps): Promise<HttpResult> {
  await authorizeOperator(event, deps);
  const now = deps.now();
  const views = listStreams(await deps.registry.listNodes(), now).map((s) => ({
    stream: s.stream,
    nodeId: s.nodeId,
    state: s.state,
    since: iso(s.since),
    expiresAt: iso(s.expiresAt),
    viewers: s.viewers ?? 0,
  }));
  return json(200, { streams: views });
}

/** Events kept in the answer of `GET /events`. */
export const EVENTS_LIMIT = 50;

async function events(event: HttpEvent, deps: ApiDeps): Promise<HttpResult> {
  await authorizeOperator(event, deps);
  const recent = await deps.registry.recentEvents(EVENTS_LIMIT);
  return json(200, { events: recent.map((e) => ({ ...e, at: iso(e.at) })) });
}

/** The `GET /nodes` handler over the given dependencies. */
export function createNodesHandler(deps: ApiDeps) {
  return httpHandler(deps, nodes);
}

/** The `GET /streams` handler over the given dependencies. */
export function createStreamsHandler(deps: ApiDeps) {
  return httpHandler(deps, streams);
}

/** The `GET /events` handler (recent scale and lifecycle events) over the given dependencies. */
export function createEventsHandler(deps: ApiDeps) {
  return httpHandler(deps, events);
}
