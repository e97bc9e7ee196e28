/**
 * HTTP plumbing shared by the handlers: typed errors mapped to responses in one place, strict
 * parsing of query strings and nginx-rtmp's form bodies, and node authentication.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import type middy from "@middy/core";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { NodeRefusedError } from "../core/fleet";
import { streamNameProblem } from "../core/names";

/** The event every handler takes: API Gateway HTTP API, payload format 2.0. */
export type HttpEvent = APIGatewayProxyEventV2;
/** The result every handler returns. */
export type HttpResult = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string> };

/** An error that becomes a 4xx/5xx JSON answer `{error, message}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** How a route answers one reason a use case refuses: its status and a sentence for the caller. */
export interface Denial {
  readonly status: number;
  readonly message: string;
}

/** The error that answers a use case's refusal, its reason as the code. */
export function denied<R extends string>(denials: Readonly<Record<R, Denial>>, reason: R): ApiError {
  return new ApiError(denials[reason].status, reason, denials[reason].message);
}

/** The refusal of a node request whose credential is malformed, or not the registered node's. */
export function nodeUnauthorized(): ApiError {
  return new ApiError(401, "unauthorized", "the node id and secret do not match");
}

/** Largest request body accepted (bytes): far above any legitimate request (a full heartbeat is under 50 KiB), far below API Gateway's 10 MB. */
export const MAX_BODY_BYTES = 256 * 1024;

/** A JSON response that no cache keeps (every answer describes the fleet as it is now). */
export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { "content-type": "application/json", "cache-control": "no-store", ...headers },
    body: JSON.stringify(body),
  };
}

/** The JSON answer of an error. */
export function errorResult(error: ApiError): HttpResult {
  return json(error.status, { error: error.code, message: error.message }, { ...error.headers });
}

/** Errors of AWS services that say "busy, try again" once the SDK's own retries are spent. */
const TRANSIENT_ERRORS = new Set([
  "ThrottlingException",
  "Throttling",
  "ProvisionedThroughputExceededException",
  "RequestLimitExceeded",
  "TooManyRequestsException",
  "LimitExceededException",
  "TransactionConflictException",
  "InternalServerError",
  "InternalFailure",
  "ServiceUnavailable",
  "ServiceUnavailableException",
  "TimeoutError",
]);

/** True when the error is a backing service being busy or briefly unavailable: retrying helps. */
export function isTransient(error: unknown): boolean {
  const e = error as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  return (
    TRANSIENT_ERRORS.has(e?.name ?? "") || e?.$retryable !== undefined || (e?.$metadata?.httpStatusCode ?? 0) >= 500
  );
}

/** Seconds a client is told to wait when a backing service was busy. */
export const RETRY_AFTER_TRANSIENT_SECONDS = 2;

/**
 * Middy middleware that maps errors to responses: an `ApiError` to its own JSON answer, a busy
 * backing service to a 503 with Retry-After, anything else to a 500 with no detail (the detail goes
 * to the log, never to the client).
 */
export function httpErrors(logger: Logger): middy.MiddlewareObj<HttpEvent, HttpResult> {
  return {
    onError: async (request) => {
      const error = request.error;
      if (error instanceof NodeRefusedError) {
        request.response = errorResult(nodeUnauthorized());
        return;
      }
      if (error instanceof ApiError) {
        if (error.status >= 500) logger.warn("request refused", { code: error.code, message: error.message });
        request.response = errorResult(error);
        return;
      }
      if (isTransient(error)) {
        logger.warn("a backing service is busy", { error: error as Error });
        request.response = errorResult(
          new ApiError(503, "unavailable", "a backing service is busy; retry shortly", {
            "retry-after": String(RETRY_AFTER_TRANSIENT_SECONDS),
          }),
        );
        return;
      }
      logger.error("request failed", error as Error);
      request.response = json(500, { error: "internal", message: "internal error; the request may be retried" });
    },
  };
}

/** A header, by case-insensitive name. */
export function header(event: HttpEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/**
 * Decodes `a=1&b=2` strictly: a malformed %-escape is a 400, not a silently kept literal. When a key
 * repeats, the first value wins: nginx-rtmp writes its own fields (name, clientid, call) before the
 * camera's query arguments, so a camera cannot override them by adding `name=` to its URL.
 */
export function decodePairs(text: string, what: string): Map<string, string> {
  const pairs = new Map<string, string>();
  if (text === "") return pairs;
  for (const part of text.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? "" : part.slice(eq + 1);
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(rawKey.replace(/\+/g, " "));
      value = decodeURIComponent(rawValue.replace(/\+/g, " "));
    } catch {
      throw new ApiError(400, "malformed_encoding", `the ${what} has a malformed %-escape near '${part.slice(0, 40)}'`);
    }
    if (!pairs.has(key)) pairs.set(key, value);
  }
  return pairs;
}

/** The query string's parameters, strictly decoded. */
export function query(event: HttpEvent): Map<string, string> {
  return decodePairs(event.rawQueryString ?? "", "query string");
}

/** The request body as text, refusing oversized ones. */
export function bodyText(event: HttpEvent): string {
  const raw = event.body ?? "";
  const text = event.isBase64Encoded ? Buffer.from(raw, "base64").toString("utf8") : raw;
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) {
    throw new ApiError(413, "body_too_large", `the request body exceeds ${MAX_BODY_BYTES} bytes`);
  }
  return text;
}

/** The media type of the request body, lower case, without parameters. */
function mediaType(event: HttpEvent): string {
  return (header(event, "content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** Parses an nginx-rtmp callback body (`application/x-www-form-urlencoded`). */
export function formBody(event: HttpEvent): Map<string, string> {
  const type = mediaType(event);
  if (type !== "application/x-www-form-urlencoded") {
    throw new ApiError(
      415,
      "unsupported_media_type",
      `expected an application/x-www-form-urlencoded body (as nginx-rtmp sends), got '${type || "none"}'`,
    );
  }
  return decodePairs(bodyText(event), "form body");
}

/** Parses a JSON object body (`application/json`). */
export function jsonBody(event: HttpEvent): Record<string, unknown> {
  const type = mediaType(event);
  if (type !== "application/json") {
    throw new ApiError(415, "unsupported_media_type", `expected an application/json body, got '${type || "none"}'`);
  }
  const text = bodyText(event);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiError(400, "malformed_json", "the request body is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ApiError(400, "malformed_json", "the request body must be a JSON object");
  }
  return parsed as Record<string, unknown>;
}

/** True when the client asked for `text/plain` rather than JSON. */
export function wantsText(event: HttpEvent): boolean {
  const types = (header(event, "accept") ?? "").split(",").map((t) => t.split(";")[0]?.trim().toLowerCase());
  const text = types.indexOf("text/plain");
  const jsonAt = types.indexOf("application/json");
  return text >= 0 && (jsonAt < 0 || text < jsonAt);
}

/**
 * Where a caller publishes or plays `stream` on a node: with its key and any other query arguments
 * (a camera's correlation id), which nginx-rtmp hands to the node's callbacks.
 */
export function streamUrl(
  rtmpBaseUrl: string,
  stream: string,
  key: string | undefined,
  args: Readonly<Record<string, string>> = {},
): string {
  const pairs = Object.entries({ key, ...args }).filter((pair): pair is [string, string] => Boolean(pair[1]));
  const search = pairs.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join("&");
  return `${rtmpBaseUrl}/${stream}${search ? `?${search}` : ""}`;
}

/**
 * A 200 that gives a URL: the URL alone for `Accept: text/plain` (so that `"$(curl -sf URL)"` can
 * be handed to ffmpeg or ffplay), else `body` as JSON.
 */
export function urlAnswer(event: HttpEvent, url: string, body: unknown): HttpResult {
  if (!wantsText(event)) return json(200, body);
  return { statusCode: 200, headers: { "content-type": "text/plain", "cache-control": "no-store" }, body: `${url}\n` };
}

/** A stream name from the request, validated. @throws ApiError 400 naming the problem */
export function streamParam(value: string | undefined): string {
  const problem = streamNameProblem(value);
  if (problem) throw new ApiError(400, "invalid_stream", problem);
  return value as string;
}
