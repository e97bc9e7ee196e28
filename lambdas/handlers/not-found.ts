/**
 * The API's `$default` route: any path or method the contract does not have gets the same JSON
 * error body as every other refusal, instead of API Gateway's own `{"message":"Not Found"}`.
 */
import { routeOfPath } from "../contract";
import { type ApiDeps, httpHandler } from "./api";
import { ApiError, type HttpEvent } from "./http";

/** The refusal of a request that matches no route: 405 for a known path, 404 otherwise. */
export function unmatched(event: HttpEvent): ApiError {
  const path = event.rawPath;
  const method = event.requestContext.http.method;
  const allowed = routeOfPath(path)?.method;
  if (allowed) {
    return new ApiError(405, "method_not_allowed", `${path} takes ${allowed}, not ${method}`, { allow: allowed });
  }
  return new ApiError(404, "not_found", `no route for ${method} ${path.slice(0, 200)}`);
}

/** The `$default` handler. */
export function createNotFoundHandler(deps: ApiDeps) {
  return httpHandler(deps, async (event) => {
    throw unmatched(event);
  });
}
