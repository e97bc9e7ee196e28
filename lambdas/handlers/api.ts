/**
 * What every HTTP handler shares: its injected dependencies and the middy stack around it
 * (request context in the logs, errors mapped to JSON answers).
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { CameraDeps } from "../core/cameras";
import type { FollowUps } from "../core/follow-ups";
import type { IngestAddress } from "../core/ingest";
import type { SecretSource, Telemetry } from "../core/ports";
import { ApiError, type HttpEvent, type HttpResult, httpErrors } from "./http";

/** Everything an HTTP handler may use, created once per process and injected. */
export interface ApiDeps extends CameraDeps {
  readonly logger: Logger;
  readonly secrets: SecretSource;
  readonly telemetry: Telemetry;
  /** Where cameras may call from when camera keys are off (IPv4 CIDR blocks; none: nowhere). */
  readonly cameraCidrs: readonly string[];
  /** The fixed ingest address, on fleets that have one: `/resolve` gives it to cameras. */
  readonly ingestAddress?: IngestAddress;
}

/**
 * Logs what a use case's follow-ups did. A failed one is logged, not answered: refusing the
 * caller would be worse, and the scaler's next run repeats the step.
 */
export function logFollowUps(
  logger: Logger,
  outcome: FollowUps & { readonly nodeProtected?: boolean },
  context: Readonly<Record<string, unknown>>,
): void {
  if (outcome.nodeProtected) logger.info("node protected from scale-in", context);
  for (const error of outcome.followUpErrors) {
    logger.error("a follow-up step failed; the scaler's next run repeats it", { ...context, error });
  }
}

/** A route's logic: parse, authenticate, call the domain and the adapters, answer. */
export type Route = (event: HttpEvent, deps: ApiDeps) => Promise<HttpResult>;

/**
 * One Lambda serving several routes of the contract: the route its event names (API Gateway's
 * `routeKey`, `METHOD /path`; local mode's server sets the same).
 */
export function byRouteKey(routes: Readonly<Record<string, Route>>): Route {
  return (event, deps) => {
    const route = routes[event.routeKey];
    if (!route) throw new ApiError(404, "not_found", `this function does not serve ${event.routeKey}`);
    return route(event, deps);
  };
}

/** Middy middleware that sends the invocation's metrics, whatever its outcome. */
export function flushTelemetry<E, R>(telemetry: Telemetry): middy.MiddlewareObj<E, R> {
  const flush = async () => telemetry.flush();
  return { after: flush, onError: flush };
}

/**
 * Middy middleware that puts the API request id on every line the request logs: the access log's
 * `requestId`, which ties a handler's lines to its access log line.
 */
export function requestIdInLogs(logger: Logger): middy.MiddlewareObj<HttpEvent, HttpResult> {
  return {
    before: async (request) => {
      logger.appendKeys({ requestId: request.event.requestContext.requestId });
    },
  };
}

/**
 * Wraps a route in the shared middy stack. Events are never logged (`logEvent: false` wins over
 * POWERTOOLS_LOGGER_LOG_EVENT): they carry node secrets and camera keys.
 */
export function httpHandler(deps: ApiDeps, route: Route) {
  return middy<HttpEvent, HttpResult>()
    .use(injectLambdaContext(deps.logger, { resetKeys: true, logEvent: false }))
    .use(requestIdInLogs(deps.logger))
    .use(flushTelemetry(deps.telemetry))
    .use(httpErrors(deps.logger))
    .handler((event) => route(event, deps));
}
