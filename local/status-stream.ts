/**
 * Local mode's live status: the summary of `GET /status` pushed to the status page as server-sent
 * events, when it changes and at least once a heartbeat period, over one stream per page.
 *
 * EventSource cannot send an Authorization header, and the token must not go in a URL (history,
 * logs). So the page asks for a ticket with its token (`POST /local/status/ticket`, behind the
 * operator token like every operator route) and opens `GET /local/status/events?ticket=...`. A
 * ticket is random, opens one stream and expires unused after TICKET_TTL_MS: the URL that carries
 * it may land in a log, but what it names is spent by then.
 */
import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { ApiDeps } from "../lambdas/handlers/api";
import { ApiError, errorResult, type HttpEvent, json } from "../lambdas/handlers/http";
import { fleetStatus } from "../lambdas/handlers/status";
import type { LocalRoute, LocalStream } from "./server";

/** How long a ticket may wait for its stream. */
export const TICKET_TTL_MS = 30_000;
/** How often a stream looks for a change: the in-memory registry answers in microseconds. */
const CHANGE_CHECK_MS = 250;

/** Tickets issued and not yet used, with when each expires. */
class Tickets {
  private readonly open = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  issue(): string {
    for (const [ticket, expiresAt] of this.open) if (expiresAt <= this.now()) this.open.delete(ticket);
    const ticket = randomBytes(24).toString("base64url");
    this.open.set(ticket, this.now() + TICKET_TTL_MS);
    return ticket;
  }

  /** True once for a ticket issued less than TICKET_TTL_MS ago; it is spent whatever the answer. */
  spend(ticket: string): boolean {
    const expiresAt = this.open.get(ticket);
    this.open.delete(ticket);
    return expiresAt !== undefined && expiresAt > this.now();
  }
}

/** Writes the summary to `response` when it differs from the last one sent, or a heartbeat period after it. */
function pushChanges(deps: ApiDeps, response: ServerResponse): () => void {
  const heartbeatMs = deps.config.heartbeatSeconds * 1000;
  let last = "";
  let sentAt = 0;
  let busy = false;
  const check = async () => {
    if (busy) return;
    busy = true;
    try {
      const summary = JSON.stringify(await fleetStatus(deps));
      if (summary !== last || deps.now() - sentAt >= heartbeatMs) {
        response.write(`data: ${summary}\n\n`);
        last = summary;
        sentAt = deps.now();
      }
    } catch (error) {
      deps.logger.error("status stream: the summary failed", error as Error);
    } finally {
      busy = false;
    }
  };
  void check();
  const timer = setInterval(check, CHANGE_CHECK_MS);
  return () => clearInterval(timer);
}

/** The ticket route and the event stream it opens, over one set of tickets. */
export function statusStream(deps: ApiDeps): { ticketRoute: LocalRoute; stream: LocalStream } {
  const tickets = new Tickets(deps.now);
  return {
    ticketRoute: {
      method: "POST",
      path: "/local/status/ticket",
      caller: "operator",
      answer: () => json(200, { ticket: tickets.issue(), expiresInSeconds: TICKET_TTL_MS / 1000 }),
    },
    stream: {
      path: "/local/status/events",
      open: (event: HttpEvent, response: ServerResponse) => {
        const ticket = new URLSearchParams(event.rawQueryString ?? "").get("ticket") ?? "";
        if (!tickets.spend(ticket)) {
          const refused = errorResult(
            new ApiError(401, "unauthorized", "the status stream needs a fresh ticket from POST /local/status/ticket"),
          );
          response.writeHead(refused.statusCode, refused.headers).end(refused.body);
          return;
        }
        response.writeHead(200, {
          "content-type": "text/event-stream",
          "cache-control": "no-store",
          connection: "keep-alive",
        });
        const stop = pushChanges(deps, response);
        // The page went away, or local mode stops (the server closes every connection).
        response.on("close", stop);
      },
    },
  };
}
