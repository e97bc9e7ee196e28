/**
 * The status page and its data, one Lambda: `GET /` answers the page (its chart library inlined,
 * no data of the fleet's, so it needs no token) and `GET /status` the summary it draws (nodes in
 * fill order, streams, events and the policy's CPU threshold in one answer, behind the operator
 * token). Local mode pushes the same summary to the page over server-sent events.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { STATUS_PAGE_FILES } from "../contract";
import { ingestBaseUrl } from "../core/ingest";
import { chooseNode } from "../core/placement";
import { type ApiDeps, byRouteKey, httpHandler } from "./api";
import { authorizeOperator } from "./auth";
import { ApiError, type HttpEvent, type HttpResult, json } from "./http";
import { eventsBody, nodesBody, streamsBody } from "./views";

/** Where the page takes the chart library: this comment in its head. */
const CHART_LIBRARY_MARK = "<!-- chart library -->";

/**
 * A file of the page: beside the code when bundled (the bundling copies it there), else read from
 * the repository, as local mode and the tests run the handler from source.
 */
function pageFile(relative: string): string {
  const bundled = path.join(__dirname, path.basename(relative));
  return readFileSync(existsSync(bundled) ? bundled : path.join(__dirname, "..", "..", relative), "utf8");
}

let page: string | undefined;

/** The page with the chart library inlined: one answer, nothing fetched from elsewhere. */
export function statusPage(): string {
  if (page === undefined) {
    const [html, script, style] = STATUS_PAGE_FILES.map(pageFile) as [string, string, string];
    // A function, not a string: `$&` and its kind in the library's code must stay as they are.
    page = html.replace(CHART_LIBRARY_MARK, () => `<style>${style}</style>\n<script>${script}</script>`);
  }
  return page;
}

/**
 * The page. A token put in its URL is refused: URLs end up in the browser's history and in logs.
 * @throws ApiError 400 when the query has a `token`
 */
async function pageRoute(event: HttpEvent): Promise<HttpResult> {
  if (new URLSearchParams(event.rawQueryString ?? "").has("token")) {
    throw new ApiError(
      400,
      "token_in_url",
      "the operator token does not go in the URL (it would stay in the history and in logs): open the page without it and enter the token in its form",
    );
  }
  return {
    statusCode: 200,
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
    body: statusPage(),
  };
}

/**
 * The summary the page draws: what `GET /nodes`, `/streams` and `/events` answer, the policy it is
 * measured against, and the fixed ingest address (when the fleet has one) with the node it leads
 * new cameras to: the first in fill order.
 */
export async function fleetStatus(deps: ApiDeps) {
  const now = deps.now();
  const [all, events] = await Promise.all([deps.registry.listNodes(), eventsBody(deps)]);
  const address = deps.ingestAddress;
  return {
    cpuThresholdPercent: deps.config.cpuThresholdPercent,
    heartbeatSeconds: deps.config.heartbeatSeconds,
    ...(address && {
      ingest: { address: ingestBaseUrl(address), target: chooseNode(all, now, deps.config)?.nodeId ?? null },
    }),
    ...nodesBody(all, now, deps.config),
    ...streamsBody(all, now),
    ...events,
  };
}

async function statusRoute(event: HttpEvent, deps: ApiDeps): Promise<HttpResult> {
  await authorizeOperator(event, deps);
  return json(200, await fleetStatus(deps));
}

/** The `GET /` and `GET /status` handler over the given dependencies. */
export function createStatusHandler(deps: ApiDeps) {
  return httpHandler(deps, byRouteKey({ "GET /": pageRoute, "GET /status": statusRoute }));
}
