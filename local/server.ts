/**
 * The local API server: the very handlers the Lambdas run, behind Node's HTTP server on
 * 127.0.0.1. Each request becomes the API Gateway (HTTP API, payload 2.0) event the handler would
 * get on AWS, so local mode exercises the same parsing, authentication and answers.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Context } from "aws-lambda";
import { type Caller, ROUTES, UNMATCHED_ROUTE_FUNCTION } from "../lambdas/contract";
import { type ApiDeps, httpHandler } from "../lambdas/handlers/api";
import { authorizeOperator } from "../lambdas/handlers/auth";
import type { HttpEvent, HttpResult } from "../lambdas/handlers/http";
import { HTTP_HANDLERS, type HttpHandler } from "../lambdas/handlers/http-handlers";

/** Largest body read from a request (bytes); the handlers refuse far smaller ones themselves. */
const MAX_REQUEST_BYTES = 1024 * 1024;

/**
 * A `GET` route only local mode has (`/local/nodes`, the status page). Its caller decides its guard,
 * as the contract's routes' callers do: an operator's route needs the operator token when one is
 * set; `anyone` is for a page that holds no data of the fleet's.
 */
export interface LocalRoute {
  /** GET unless said. */
  readonly method?: "GET" | "POST";
  readonly path: string;
  readonly caller: Extract<Caller, "operator"> | "anyone";
  readonly answer: (event: HttpEvent) => HttpResult;
}

/**
 * A `GET` route local mode answers with a stream that stays open (server-sent events): it writes
 * to the response itself, and stops when the response closes.
 */
export interface LocalStream {
  readonly path: string;
  readonly open: (event: HttpEvent, response: ServerResponse) => void;
}

function localHandler(deps: ApiDeps, route: LocalRoute): HttpHandler {
  return httpHandler(deps, async (event) => {
    if (route.caller === "operator") await authorizeOperator(event, deps);
    return route.answer(event);
  });
}

/**
 * The API's handlers, by route key (`METHOD /path`), as the HTTP API routes them on AWS, and
 * local mode's own routes beside them.
 */
export function apiRoutes(
  deps: ApiDeps,
  local: readonly LocalRoute[] = [],
): { routes: Map<string, HttpHandler>; notFound: HttpHandler } {
  const routes = new Map(ROUTES.map((route) => [`${route.method} ${route.path}`, HTTP_HANDLERS[route.function](deps)]));
  for (const route of local) routes.set(`${route.method ?? "GET"} ${route.path}`, localHandler(deps, route));
  return { routes, notFound: HTTP_HANDLERS[UNMATCHED_ROUTE_FUNCTION](deps) };
}

/** The payload-2.0 event API Gateway would build from this request. */
export function toEvent(request: IncomingMessage, body: string): HttpEvent {
  const url = new URL(request.url ?? "/", "http://localhost");
  const method = request.method ?? "GET";
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(",") : value;
  }
  const rawQueryString = (request.url ?? "").includes("?")
    ? (request.url ?? "").slice((request.url ?? "").indexOf("?") + 1)
    : "";
  const now = Date.now();
  return {
    version: "2.0",
    routeKey: `${method} ${url.pathname}`,
    rawPath: url.pathname,
    rawQueryString,
    headers,
    body: body === "" ? undefined : body,
    isBase64Encoded: false,
    requestContext: {
      accountId: "local",
      apiId: "local",
      domainName: headers.host ?? "localhost",
      domainPrefix: "local",
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? "",
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey: `${method} ${url.pathname}`,
      stage: "$default",
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
  };
}

/** A Lambda context for one request. */
function lambdaContext(name: string): Context {
  return {
    functionName: name,
    functionVersion: "$LOCAL",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
    memoryLimitInMB: "512",
    awsRequestId: randomUUID(),
    logGroupName: `/local/${name}`,
    logStreamName: "local",
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 8000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function readBody(request: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BYTES) chunks.push(chunk);
    });
    request.on("end", () => resolve(size > MAX_REQUEST_BYTES ? undefined : Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function send(response: ServerResponse, result: HttpResult): void {
  response.writeHead(result.statusCode, { ...result.headers, "content-length": Buffer.byteLength(result.body ?? "") });
  response.end(result.body ?? "");
}

/** A running local API server. */
export interface ApiServer {
  readonly server: Server;
  /** e.g. http://127.0.0.1:8787 */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts the API on 127.0.0.1.
 * @param port 0 picks a free port
 * @param local routes only local mode has
 * @param streams event streams only local mode has
 */
export async function startApiServer(
  deps: ApiDeps,
  port: number,
  local: readonly LocalRoute[] = [],
  streams: readonly LocalStream[] = [],
): Promise<ApiServer> {
  const { routes, notFound } = apiRoutes(deps, local);
  const streamsByKey = new Map(streams.map((stream) => [`GET ${stream.path}`, stream]));
  const server = createServer(async (request, response) => {
    try {
      const body = await readBody(request);
      if (body === undefined) {
        send(response, {
          statusCode: 413,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            error: "body_too_large",
            message: `the request body exceeds ${MAX_REQUEST_BYTES} bytes`,
          }),
        });
        return;
      }
      const event = toEvent(request, body);
      const stream = streamsByKey.get(event.routeKey);
      if (stream) return stream.open(event, response);
      const handler = routes.get(event.routeKey) ?? notFound;
      send(response, await handler(event, lambdaContext(event.routeKey)));
    } catch (error) {
      deps.logger.error("local server: request failed", error as Error);
      if (!response.headersSent) {
        send(response, {
          statusCode: 500,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ error: "internal", message: "internal error" }),
        });
      }
    }
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
