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

/** The body of `GET /nodes`: the nodes in fill order, and the silence breaker. */
export function nodesBody(all: readonly MediaNode[], now: number, config: FleetConfig) {
  const ordered = [...all].sort(byFillOrder);
  return {
    nodes: ordered.map((node) => nodeView(node, now, config)),
    silenceBreaker: silenceBreaker(ordered, config, now),
  };
}

/** The body of `GET /streams`: every live stream and reservation. */
export function streamsBody(all: readonly MediaNode[], now: number) {
  const views = listStreams(all, now).map((s) => ({
    stream: s.stream,
    nodeId: s.nodeId,
    state: s.state,
    since: iso(s.since),
    expiresAt: iso(s.expiresAt),
    viewers: s.viewers ?? 0,
  }));
  return { streams: views };
}

/** Events kept in the answer of `GET /events`. */
export const EVENTS_LIMIT = 50;

/** The body of `GET /events`: the newest events first. */
export async function eventsBody(deps: ApiDeps) {
  const recent = await deps.registry.recentEvents(EVENTS_LIMIT);
  return { events: recent.map((e) => ({ ...e, at: iso(e.at) })) };
}

async function nodes(event: HttpEvent, deps: ApiDeps): Promise<HttpResult> {
  await authorizeOperator(event, deps);
  return json(200, nodesBody(await deps.registry.listNodes(), deps.now(), deps.config));
}

async function streams(event: HttpEvent, deps: ApiDeps): Promise<HttpResult> {
  await authorizeOperator(event, deps);
  return json(200, streamsBody(await deps.registry.listNodes(), deps.now()));
}

async function events(event: HttpEvent, deps: ApiDeps): Promise<HttpResult> {
  await authorizeOperator(event, deps);
  return json(200, await eventsBody(deps));
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
