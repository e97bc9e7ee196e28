/**
 * What every HTTP handler shares: its injected dependencies and the middy stack around it
 * (request context in the logs, errors mapped to JSON answers).
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import { protectIfNeeded } from "../core/fleet";
import type { MediaNode } from "../core/model";
import type { FleetPort, ScaleOutRequests, SecretSource, Telemetry } from "../core/ports";
import type { StreamDeps } from "../core/streams";
import { type HttpEvent, type HttpResult, httpErrors } from "./http";

/** Everything an HTTP handler may use, created once per process and injected. */
export interface ApiDeps extends StreamDeps {
  readonly logger: Logger;
  readonly secrets: SecretSource;
  readonly scaleOut: ScaleOutRequests;
  readonly fleet: FleetPort;
  readonly telemetry: Telemetry;
}

/**
 * Protects a node that just got its first stream or reservation. A failure is logged, not
 * answered: refusing the camera would be worse, and the scaler protects the node on its next run.
 */
export async function protectNode(deps: ApiDeps, node: MediaNode): Promise<void> {
  try {
    if (await protectIfNeeded(deps, node)) deps.logger.info("node protected from scale-in", { nodeId: node.nodeId });
  } catch (error) {
    deps.logger.error("protecting the node failed; the scaler will retry", {
      nodeId: node.nodeId,
      error: error as Error,
    });
  }
}

/** A route's logic: parse, authenticate, call the domain and the adapters, answer. */
export type Route = (event: HttpEvent, deps: ApiDeps) => Promise<HttpResult>;

/** Middy middleware that sends the invocation's metrics, whatever its outcome. */
export function flushTelemetry<E, R>(telemetry: Telemetry): middy.MiddlewareObj<E, R> {
  const flush = async () => telemetry.flush();
  return { after: flush, onError: flush };
}

/**
 * Wraps a route in the shared middy stack. Events are never logged (`logEvent: false` wins over
 * POWERTOOLS_LOGGER_LOG_EVENT): they carry node secrets and camera keys.
 */
export function httpHandler(deps: ApiDeps, route: Route) {
  return middy<HttpEvent, HttpResult>()
    .use(injectLambdaContext(deps.logger, { resetKeys: true, logEvent: false }))
    .use(flushTelemetry(deps.telemetry))
    .use(httpErrors(deps.logger))
    .handler((event) => route(event, deps));
}
