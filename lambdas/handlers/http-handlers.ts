/**
 * Every HTTP handler, by the Lambda function that runs it: the local server serves the contract's
 * routes from this map, as API Gateway does on AWS from the stack's routes.
 */
import type { Context } from "aws-lambda";
import type { ROUTES, UNMATCHED_ROUTE_FUNCTION } from "../contract";
import type { ApiDeps } from "./api";
import { createHeartbeatHandler } from "./heartbeat";
import { createDoneHandler, createPublishHandler } from "./hooks";
import type { HttpEvent, HttpResult } from "./http";
import { createNotFoundHandler } from "./not-found";
import { createPlayHandler } from "./play";
import { createResolveHandler } from "./resolve";
import { createStatusHandler } from "./status";
import { createViewerHooksHandler } from "./viewer-hooks";
import { createEventsHandler, createNodesHandler, createStreamsHandler } from "./views";

/** A Lambda function that answers HTTP requests. */
export type HttpFunctionName = (typeof ROUTES)[number]["function"] | typeof UNMATCHED_ROUTE_FUNCTION;

/** An HTTP handler as API Gateway invokes it. */
export type HttpHandler = (event: HttpEvent, context: Context) => Promise<HttpResult>;

/** The handler factory of each HTTP function. */
export const HTTP_HANDLERS: Readonly<Record<HttpFunctionName, (deps: ApiDeps) => HttpHandler>> = {
  resolve: createResolveHandler,
  publish: createPublishHandler,
  done: createDoneHandler,
  heartbeat: createHeartbeatHandler,
  nodes: createNodesHandler,
  streams: createStreamsHandler,
  events: createEventsHandler,
  "not-found": createNotFoundHandler,
  play: createPlayHandler,
  "viewer-hooks": createViewerHooksHandler,
  status: createStatusHandler,
};
