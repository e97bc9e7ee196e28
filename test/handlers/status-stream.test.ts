/**
 * Local mode's live status (local/status-stream.ts) behind the local server: a ticket asked for
 * with the operator token opens one event stream, which pushes the summary when it changes and
 * ends when the page goes or the server stops. The token itself never goes in a URL.
 */
import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import { type ApiServer, startApiServer } from "../../local/server";
import { statusStream, TICKET_TTL_MS } from "../../local/status-stream";
import { makeConfig, makeDeps, makeNode, TestClock } from "../support/builders";

const TOKEN = "operator-token-for-the-stream-tests";
const auth = { authorization: `Bearer ${TOKEN}` };

let registry: MemoryRegistry;
let clock: TestClock;
let server: ApiServer;

beforeEach(async () => {
  registry = new MemoryRegistry();
  await registry.createNode(makeNode({ nodeId: "n1" }));
  clock = new TestClock();
  // A long heartbeat: any push within a test is a change's.
  const deps = makeDeps(registry, { clock, operatorToken: TOKEN, config: makeConfig({ heartbeatSeconds: 600 }) });
  const live = statusStream(deps);
  server = await startApiServer(deps, 0, [live.ticketRoute], [live.stream]);
});
afterEach(() => server.close());

async function ticket(headers: Record<string, string> = auth): Promise<Response> {
  return fetch(`${server.url}/local/status/ticket`, { method: "POST", headers });
}

const open = async (value: string) => fetch(`${server.url}/local/status/events?ticket=${encodeURIComponent(value)}`);

/** The summaries a stream pushes, one `data:` event each, and the page going away. */
function summaries(response: Response) {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const next = async (): Promise<{ nodes: { nodeId: string }[] }> => {
    for (;;) {
      const end = buffer.indexOf("\n\n");
      if (end >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        return JSON.parse(frame.replace(/^data: /, ""));
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("the stream ended");
      buffer += decoder.decode(value, { stream: true });
    }
  };
  return { next, leave: () => reader.cancel() };
}

describe("the status stream", () => {
  it("gives a ticket only for the operator token", async () => {
    expect((await ticket({})).status).toBe(401);
    expect((await ticket({ authorization: "Bearer wrong" })).status).toBe(401);
    const answer = await ticket();
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { ticket: string; expiresInSeconds: number };
    expect(body.ticket).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(body.ticket).not.toContain(TOKEN);
    expect(body.expiresInSeconds).toBe(TICKET_TTL_MS / 1000);
  });

  it("opens one stream per ticket: no ticket, a made-up one, a spent one and an expired one are refused", async () => {
    expect((await open("")).status).toBe(401);
    expect((await open("made-up")).status).toBe(401);
    const { ticket: once } = (await (await ticket()).json()) as { ticket: string };
    const first = await open(once);
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe("text/event-stream");
    await first.body?.cancel();
    expect((await open(once)).status).toBe(401);
    const { ticket: late } = (await (await ticket()).json()) as { ticket: string };
    clock.advance(TICKET_TTL_MS / 1000);
    expect((await open(late)).status).toBe(401);
  });

  it("pushes the summary at once, then again when the registry changes", async () => {
    const { ticket: value } = (await (await ticket()).json()) as { ticket: string };
    const { next } = summaries(await open(value));
    expect((await next()).nodes.map((n) => n.nodeId)).toEqual(["n1"]);
    await registry.createNode(makeNode({ nodeId: "n2", launchedAt: clock.now() + 1 }));
    expect((await next()).nodes.map((n) => n.nodeId)).toEqual(["n1", "n2"]);
  });

  it("pushes the summary again a heartbeat period after the last, changed or not", async () => {
    const { ticket: value } = (await (await ticket()).json()) as { ticket: string };
    const { next } = summaries(await open(value));
    await next();
    clock.advance(600);
    expect((await next()).nodes.map((n) => n.nodeId)).toEqual(["n1"]);
  });

  it("stops reading the registry once the page has gone", async () => {
    const reads = jest.spyOn(registry, "listNodes");
    const { ticket: value } = (await (await ticket()).json()) as { ticket: string };
    const page = summaries(await open(value));
    await page.next();
    await page.leave();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = reads.mock.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(reads.mock.calls.length).toBe(after);
  });

  it("ends the stream when the server stops", async () => {
    const { ticket: value } = (await (await ticket()).json()) as { ticket: string };
    const { next } = summaries(await open(value));
    await next();
    await server.close();
    await expect(next()).rejects.toThrow();
  });
});
