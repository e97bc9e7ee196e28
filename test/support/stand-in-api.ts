/**
 * A stand-in for the control plane's API as a media node sees it, for tests of the node itself:
 * it records every request the node's shim forwards (callbacks, heartbeats, boot progress) and
 * answers as the API does when all is well. Plain HTTP, or HTTPS with a given key and chain. Given
 * a stat page and a shim token, it also stands in for the shim itself (the agent reads `/stat`
 * there): paths start with the token, which it takes off, and a request without it is a 403.
 */
import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";

/** One request as the stand-in received it. */
export interface ApiCall {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** When it arrived (ms since the epoch). */
  readonly at: number;
  /** The status it was answered with. */
  status?: number;
}

/** A route the stand-in hands to real code (the control plane's own handler) rather than answering itself. */
export type StandInRoute = (call: ApiCall) => Promise<{ status: number; body: string }>;

/** A heartbeat's body, as media-node/agent.py sends it. */
export interface HeartbeatReport {
  readonly ready: boolean;
  readonly rtmpBaseUrl: string;
  readonly cpuPercent?: number;
  readonly streamsAverage?: number;
  readonly streams: readonly { name: string; clientId: string }[];
}

/** A running stand-in API. */
export interface StandInApi {
  /** Its base URL, e.g. http://127.0.0.1:41234 (https:// with TLS). */
  readonly url: string;
  /** Every request so far, in order of arrival. */
  readonly calls: ApiCall[];
  /** The heartbeats so far, parsed. */
  heartbeats(): HeartbeatReport[];
  /** The callbacks to one path so far (e.g. /hooks/publish), their bodies parsed as forms. */
  callbacks(path: string): URLSearchParams[];
  close(): Promise<void>;
}

/** Options: TLS (the server's key, and its certificate followed by the chain to send), a stat page. */
export interface StandInApiOptions {
  readonly tls?: { readonly key: string; readonly cert: string };
  /** What `GET /stat` answers (nginx-rtmp's stat XML); 404 without it. */
  readonly stat?: () => string;
  /** Standing in for the shim: the token every path must start with. */
  readonly shimToken?: string;
  /** Paths answered by real code, e.g. `/nodes/boot` by the control plane's handler. */
  readonly routes?: Readonly<Record<string, StandInRoute>>;
}

const ANSWERS: Record<string, string> = {
  "/nodes/heartbeat": JSON.stringify({ state: "ACTIVE" }),
  "/hooks/publish": JSON.stringify({ ok: true }),
  "/hooks/done": JSON.stringify({ ok: true }),
  "/hooks/play": JSON.stringify({ ok: true }),
  "/hooks/play_done": JSON.stringify({ ok: true }),
  "/nodes/boot": JSON.stringify({ ok: true }),
};

/** A canned answer: 200 with it, or 404 without one. */
function answerOf(body: string | undefined): { status: number; body: string } {
  return body === undefined ? { status: 404, body: JSON.stringify({ error: "not_found" }) } : { status: 200, body };
}

/** Starts a stand-in API on 127.0.0.1 (a free port). */
export async function startStandInApi(options: StandInApiOptions = {}): Promise<StandInApi> {
  const calls: ApiCall[] = [];
  const prefix = options.shimToken === undefined ? "" : `/${options.shimToken}`;
  const handle = async (request: IncomingMessage, body: string) => {
    const url = request.url ?? "";
    if (!url.startsWith(`${prefix}/`)) return { status: 403, body: JSON.stringify({ error: "forbidden" }) };
    const call: ApiCall = {
      method: request.method ?? "",
      path: url.slice(prefix.length),
      headers: request.headers,
      body,
      at: Date.now(),
    };
    calls.push(call);
    const route = options.routes?.[call.path];
    const answer = route
      ? await route(call)
      : answerOf(call.path === "/stat" && options.stat ? options.stat() : ANSWERS[call.path.split("?")[0] ?? ""]);
    call.status = answer.status;
    return answer;
  };
  const listener = (request: IncomingMessage, response: import("node:http").ServerResponse) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on("end", async () => {
      const answer = await handle(request, body);
      response.writeHead(answer.status, { "content-type": "application/json" });
      response.end(answer.body);
    });
  };
  const server: Server = options.tls ? createHttpsServer(options.tls, listener) : createHttpServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`,
    calls,
    heartbeats: () => calls.filter((c) => c.path === "/nodes/heartbeat").map((c) => JSON.parse(c.body)),
    callbacks: (path) => calls.filter((c) => c.path === path).map((c) => new URLSearchParams(c.body)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
