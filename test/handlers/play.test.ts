/**
 * Viewers: `GET /play` (where a viewer plays a live stream) and nginx-rtmp's `on_play` and
 * `on_play_done` (`POST /hooks/play`, `/hooks/play_done`). `/play` reads the DynamoDB registry
 * through its adapter (its client mocked: any write would show); the hooks run over the in-memory
 * registry, whose record must come out unchanged from every refusal.
 */
import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { staticSecrets } from "../../lambdas/adapters/aws-secrets";
import { DynamoRegistry } from "../../lambdas/adapters/dynamo-registry";
import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import { METRIC, nodeItemKey, REGISTRY_TABLE } from "../../lambdas/contract";
import { cameraKey, viewerKey } from "../../lambdas/core/credentials";
import type { MediaNode, StreamSlot } from "../../lambdas/core/model";
import { createPlayHandler } from "../../lambdas/handlers/play";
import { createViewerHooksHandler } from "../../lambdas/handlers/viewer-hooks";
import {
  CONTEXT,
  callbackBody,
  dynamoItem,
  httpEvent,
  makeConfig,
  makeDeps,
  makeNode,
  nodeHeaders,
  SECRETS,
  T0,
} from "../support/builders";

const ddb = mockClient(DynamoDBClient);
const seeKey = (stream: string) => viewerKey(SECRETS.viewerMaster, stream);
const config = makeConfig({ maxViewersPerStream: 2 });
const live = (viewers?: number): StreamSlot => ({ state: "LIVE", since: T0, clientId: "1", viewers });
const node = (cam1?: StreamSlot) => makeNode({ nodeId: "i-1", streams: cam1 ? { cam1 } : {} });

beforeEach(() => ddb.reset());

describe("GET /play", () => {
  /** The DynamoDB registry holding `held` (cam1 claimed by it when live). */
  function setup(held: MediaNode, options: Parameters<typeof makeDeps>[1] = {}) {
    const claimed = held.streams.cam1?.state === "LIVE";
    ddb.on(GetItemCommand).callsFake(({ Key }) => {
      if (Key?.sk?.S === "CLAIM") {
        if (!claimed || Key.pk?.S !== `${REGISTRY_TABLE.partitions.claimPrefix}cam1`) return {};
        return { Item: dynamoItem({ pk: Key.pk.S, sk: "CLAIM", stream: "cam1", nodeId: held.nodeId, clientId: "1" }) };
      }
      return { Item: dynamoItem({ ...nodeItemKey(held.nodeId), ...held }) };
    });
    const registry = new DynamoRegistry(new DynamoDBClient({ region: "us-east-1" }), "registry");
    return createPlayHandler(makeDeps(registry, { config, ...options }));
  }
  const play = (handler: ReturnType<typeof setup>, query: string, headers: Record<string, string> = {}) =>
    handler(httpEvent({ path: "/play", query, headers }), CONTEXT);
  function expectNoWrite() {
    expect(ddb).not.toHaveReceivedCommand(UpdateItemCommand);
    expect(ddb).not.toHaveReceivedCommand(PutItemCommand);
    expect(ddb).not.toHaveReceivedCommand(DeleteItemCommand);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteItemsCommand);
  }

  it("answers where a live stream plays, the viewer's key in the URL, writing nothing", async () => {
    const result = await play(setup(node(live(1))), `stream=cam1&key=${seeKey("cam1")}`);
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body as string)).toEqual({
      stream: "cam1",
      nodeId: "i-1",
      playUrl: `rtmp://i-1.test:1935/live/cam1?key=${seeKey("cam1")}`,
    });
    expectNoWrite();
  });

  it("answers the play URL alone to Accept: text/plain", async () => {
    const result = await play(setup(node(live())), `stream=cam1&key=${seeKey("cam1")}`, { accept: "text/plain" });
    expect({ type: result.headers["content-type"], body: result.body }).toEqual({
      type: "text/plain",
      body: `rtmp://i-1.test:1935/live/cam1?key=${seeKey("cam1")}\n`,
    });
  });

  it.each<[string, StreamSlot | undefined, number, string]>([
    ["a stream that is not live: 404", undefined, 404, "not_live"],
    ["a stream only reserved (its camera has not published): 404", { ...live(), state: "RESERVED" }, 404, "not_live"],
    ["a stream at its viewer cap: 429, saying why", live(2), 429, "viewer_cap_reached"],
  ])("refuses %s, writing nothing", async (_, cam1, status, code) => {
    const result = await play(setup(node(cam1)), `stream=cam1&key=${seeKey("cam1")}`);
    expect({ status: result.statusCode, body: JSON.parse(result.body as string) }).toEqual({
      status,
      body: { error: code, message: expect.stringContaining("cam1") },
    });
    expectNoWrite();
  });

  it("refuses the camera's key even when the camera and viewer masters are the same secret", async () => {
    setup(node(live())); // cam1 live on i-1, in the mocked table
    const registry = new DynamoRegistry(new DynamoDBClient({ region: "us-east-1" }), "registry");
    const same = staticSecrets({ cameraMaster: "one-master", viewerMaster: "one-master" });
    const sharing = createPlayHandler({ ...makeDeps(registry, { config }), secrets: same });
    const camera = await play(sharing, `stream=cam1&key=${cameraKey("one-master", "cam1")}`);
    expect(JSON.parse(camera.body as string).error).toBe("invalid_viewer_key");
    expect((await play(sharing, `stream=cam1&key=${viewerKey("one-master", "cam1")}`)).statusCode).toBe(200);
  });

  it.each<[string, string, Parameters<typeof makeDeps>[1], number, string]>([
    ["no viewer key", "stream=cam1", {}, 403, "viewer_key_required"],
    ["a wrong viewer key", "stream=cam1&key=wrongwrongwrongwrongww", {}, 403, "invalid_viewer_key"],
    ["another stream's viewer key", `stream=cam1&key=${seeKey("cam2")}`, {}, 403, "invalid_viewer_key"],
    [
      "the stream's camera key",
      `stream=cam1&key=${cameraKey(SECRETS.cameraMaster, "cam1")}`,
      {},
      403,
      "invalid_viewer_key",
    ],
    [
      "any key while viewer access is off",
      `stream=cam1&key=${seeKey("cam1")}`,
      { viewerKeys: false },
      403,
      "viewer_access_off",
    ],
    ["a bad stream name", `stream=..&key=${seeKey("cam1")}`, {}, 400, "invalid_stream"],
    ["a malformed key", "stream=cam1&key=%22%3E", {}, 400, "invalid_key"],
  ])("refuses %s before reading the registry, writing nothing", async (_, query, options, status, code) => {
    const result = await play(setup(node(live()), options), query);
    expect({ status: result.statusCode, code: JSON.parse(result.body as string).error }).toEqual({ status, code });
    expect(ddb).not.toHaveReceivedCommand(GetItemCommand);
    expectNoWrite();
  });
});

describe("POST /hooks/play and /hooks/play_done", () => {
  async function setup(cam1: StreamSlot | undefined, options: Parameters<typeof makeDeps>[1] = {}) {
    const registry = new MemoryRegistry();
    await registry.createNode(node(cam1));
    const deps = makeDeps(registry, { config, ...options });
    return { registry, deps, handler: createViewerHooksHandler(deps) };
  }
  /** A player's callback; `key` null: its URL has none. */
  const hook = (call: "play" | "play_done", key: string | null = seeKey("cam1"), nodeId = "i-1") =>
    httpEvent({
      method: "POST",
      path: `/hooks/${call}`,
      headers: nodeHeaders(nodeId),
      body: callbackBody({
        call,
        name: "cam1",
        clientid: "5",
        flashver: "LNX 9,0,124,2",
        args: key === null ? undefined : `key=${key}`,
      }),
    });

  it("admits a player with the stream's viewer key, and counts it", async () => {
    const { registry, deps, handler } = await setup(live(1));
    const result = await handler(hook("play"), CONTEXT);
    expect({ status: result.statusCode, body: JSON.parse(result.body as string) }).toEqual({
      status: 200,
      body: { result: "allowed", stream: "cam1", nodeId: "i-1", viewers: 2 },
    });
    expect((await registry.getNode("i-1"))?.streams.cam1?.viewers).toBe(2);
    expect(deps.telemetry.counters.get(METRIC.viewersAdmitted)).toBe(1);
  });

  it.each<[string, StreamSlot | undefined, ReturnType<typeof hook>, Parameters<typeof makeDeps>[1], number, string]>([
    ["the player one over the cap", live(2), hook("play"), {}, 403, "viewer_cap_reached"],
    ["a player of a stream not live on this node", undefined, hook("play"), {}, 403, "not_live_here"],
    ["a player without a key", live(), hook("play", null), {}, 403, "viewer_key_required"],
    [
      "a player with the camera's key",
      live(),
      hook("play", cameraKey(SECRETS.cameraMaster, "cam1")),
      {},
      403,
      "invalid_viewer_key",
    ],
    ["every player while viewer access is off", live(), hook("play"), { viewerKeys: false }, 403, "viewer_access_off"],
    ["a play reported by another node", live(), hook("play", seeKey("cam1"), "i-2"), {}, 401, "unauthorized"],
    ["a play_done without the viewer key", live(1), hook("play_done", "nope"), {}, 403, "invalid_viewer_key"],
  ])("refuses %s, writing nothing", async (_, cam1, event, options, status, code) => {
    const { registry, handler } = await setup(cam1, options);
    const before = await registry.getNode("i-1");
    const result = await handler(event, CONTEXT);
    expect({ status: result.statusCode, code: JSON.parse(result.body as string).error }).toEqual({ status, code });
    expect(await registry.getNode("i-1")).toEqual(before);
  });

  it("gives a player's place back at play_done; a second one changes nothing", async () => {
    const { registry, handler } = await setup(live(1));
    for (const expected of ["released", "ignored"]) {
      const result = await handler(hook("play_done"), CONTEXT);
      expect({ status: result.statusCode, result: JSON.parse(result.body as string).result }).toEqual({
        status: 200,
        result: expected,
      });
    }
    expect((await registry.getNode("i-1"))?.streams.cam1?.viewers).toBe(0);
  });

  it("refuses a call sent to the other route's path", async () => {
    const { handler } = await setup(live());
    const event = { ...hook("play_done"), rawPath: "/hooks/play" };
    expect((await handler(event, CONTEXT)).statusCode).toBe(400);
  });
});
