/**
 * What every HTTP handler shares: its injected dependencies and the middy stack around it
 * (request context in the logs, errors mapped to JSON answers).
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { ScaleOutRequests, SecretSource } from "../core/ports";
import type { StreamDeps } from "../core/streams";
import { type HttpEvent, type HttpResult, httpErrors } from "./http";

/** Everything an HTTP handler may use, created once per process and injected. */
export interface ApiDeps extends StreamDeps {
  readonly logger: Logger;
  readonly secrets: SecretSource;
  readonly scaleOut: ScaleOutRequests;
}

/** A route's logic: parse, authenticate, call the domain and the adapters, answer. */
export type Route = (event: HttpEvent, deps: ApiDeps) => Promise<HttpResult>;

/** Wraps a route in the shared middy stack. */
export function httpHandler(deps: ApiDeps, route: Route) {
  return middy<HttpEvent, HttpResult>()
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .use(httpErrors(deps.logger))
    .handler((event) => route(event, deps));
}
