import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { DynamoRegistry } from "../../lambdas/adapters/dynamo-registry";
import { METRIC, nodeItemKey, REGISTRY_TABLE } from "../../lambdas/contract";
import { WAITING_SECONDS } from "../../lambdas/core/cameras";
import { cameraKey } from "../../lambdas/core/credentials";
import type { MediaNode } from "../../lambdas/core/model";
import { createResolveHandler } from "../../lambdas/handlers/resolve";
import {
  CONTEXT,
  dynamoItem,
  httpEvent,
  makeConfig,
  makeDeps,
  makeNode,
  nodeRecordItem,
  registryGetItem,
  SECRETS,
  T0,
} from "../support/builders";

const ddb = mockClient(DynamoDBClient);
const registry = new DynamoRegistry(new DynamoDBClient({ region: "us-east-1" }), "registry");
const key = (stream: string) => cameraKey(SECRETS.cameraMaster, stream);

function setup(nodes: MediaNode[], options: Parameters<typeof makeDeps>[1] = {}) {
  ddb.on(QueryCommand).resolves({ Items: nodes.map(nodeRecordItem) });
  ddb.on(GetItemCommand).callsFake(registryGetItem(nodes));
  ddb.on(UpdateItemCommand).callsFake((input) => {
    const node = nodes.find((n) => dynamoItem(nodeItemKey(n.nodeId)).pk?.S === input.Key?.pk?.S) as MediaNode;
    return { Attributes: nodeRecordItem(node) };
  });
  const deps = makeDeps(registry, { config: makeConfig({ maxStreamsPerNode: 2 }), ...options });
  return { deps, handler: createResolveHandler(deps) };
}

const resolve = (handler: ReturnType<typeof setup>["handler"], query: string, headers: Record<string, string> = {}) =>
  handler(httpEvent({ path: "/resolve", query, headers }), CONTEXT);

/** Asserts that no write reached the table but `updates` UpdateItems (the caller checks which). */
function expectNoWrite(updates = 0) {
  expect(ddb).toHaveReceivedCommandTimes(UpdateItemCommand, updates);
  expect(ddb).not.toHaveReceivedCommand(PutItemCommand);
  expect(ddb).not.toHaveReceivedCommand(DeleteItemCommand);
  expect(ddb).not.toHaveReceivedCommand(TransactWriteItemsCommand);
}

/** A node with no room: both its slots are live. */
const fullNode = () =>
  makeNode({
    nodeId: "i-1",
    streams: {
      a: { state: "LIVE" as const, since: T0, clientId: "1" },
      b: { state: "LIVE" as const, since: T0, clientId: "2" },
    },
  });

beforeEach(() => ddb.reset());

describe("GET /resolve", () => {
  it("reserves a slot on the oldest node with room and answers JSON, with its request id as the camera's correlation id", async () => {
    const { handler } = setup([makeNode({ nodeId: "i-new", launchedAt: T0 + 1 }), makeNode({ nodeId: "i-old" })]);
    const result = await resolve(handler, `stream=cam42&key=${key("cam42")}`);
    expect(result.statusCode).toBe(200);
    expect(result.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(result.body as string)).toEqual({
      stream: "cam42",
      nodeId: "i-old",
      rtmpUrl: `rtmp://i-old.test:1935/live/cam42?key=${key("cam42")}&cid=req`,
      state: "RESERVED",
      expiresAt: new Date(T0 + 60_000).toISOString(),
      correlationId: "req",
    });
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
    expect(ddb).toHaveReceivedCommandTimes(UpdateItemCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, {
      Key: dynamoItem(nodeItemKey("i-old")),
      ConditionExpression: expect.stringContaining("size(#n"),
    });
  });

  it("answers the RTMP URL alone to Accept: text/plain", async () => {
    const { handler } = setup([makeNode({ nodeId: "i-1" })]);
    const result = await resolve(handler, `stream=cam1&key=${key("cam1")}`, { accept: "text/plain" });
    expect(result.statusCode).toBe(200);
    expect(result.headers["content-type"]).toBe("text/plain");
    expect(result.body).toBe(`rtmp://i-1.test:1935/live/cam1?key=${key("cam1")}&cid=req\n`);
  });

  it("answers a live stream with its current node, writing nothing", async () => {
    const { handler } = setup([
      makeNode({ nodeId: "i-1" }),
      makeNode({ nodeId: "i-2", launchedAt: T0 + 1, streams: { cam1: { state: "LIVE", since: T0, clientId: "3" } } }),
    ]);
    const result = await resolve(handler, `stream=cam1&key=${key("cam1")}`);
    expect(JSON.parse(result.body as string)).toMatchObject({ nodeId: "i-2", state: "LIVE", expiresAt: null });
    expectNoWrite();
  });

  it("answers 503 with Retry-After when no node has room, notes the camera waiting (its one write) and requests a scale-out", async () => {
    const { handler, deps } = setup([fullNode()]);
    const result = await resolve(handler, `stream=cam3&key=${key("cam3")}`);
    expect(result.statusCode).toBe(503);
    expect(result.headers["retry-after"]).toBe("15");
    expect(JSON.parse(result.body as string)).toMatchObject({ error: "no_capacity" });
    expect(deps.scaleOut.reasons).toEqual(["no room for stream cam3"]);
    const until = T0 + WAITING_SECONDS * 1000;
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, {
      Key: dynamoItem({ pk: REGISTRY_TABLE.partitions.waiting, sk: "cam3" }),
      ExpressionAttributeValues: { ":until": { N: String(until) }, ":ttl": { N: String(until / 1000) } },
    });
    expectNoWrite(1);
  });

  it("still answers 503 when the scale-out request itself fails", async () => {
    const { deps } = setup([]);
    deps.scaleOut.request = async () => {
      throw new Error("lambda unreachable");
    };
    const result = await createResolveHandler(deps)(
      httpEvent({ path: "/resolve", query: `stream=c&key=${key("c")}` }),
      CONTEXT,
    );
    expect(result.statusCode).toBe(503);
  });

  it("answers 503 busy after losing every race for a slot", async () => {
    const { handler } = setup([makeNode({ nodeId: "i-1" })]);
    ddb.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({ message: "failed", $metadata: {} }));
    const result = await resolve(handler, `stream=cam1&key=${key("cam1")}`);
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body as string)).toMatchObject({ error: "busy" });
    expect(result.headers["retry-after"]).toBe("1");
  });

  it("maps an unexpected registry failure to a 500 without its detail", async () => {
    const { handler } = setup([]);
    ddb.on(QueryCommand).rejects(new Error("secret internal detail"));
    const result = await resolve(handler, `stream=cam1&key=${key("cam1")}`);
    expect(result.statusCode).toBe(500);
    expect(result.body).not.toContain("secret internal detail");
    expect(JSON.parse(result.body as string)).toEqual({ error: "internal", message: expect.any(String) });
  });

  it("needs no key when camera keys are off (local mode)", async () => {
    const { handler } = setup([makeNode({ nodeId: "i-1" })], { cameraKeys: false });
    const result = await resolve(handler, "stream=cam1");
    expect(JSON.parse(result.body as string)).toMatchObject({ rtmpUrl: "rtmp://i-1.test:1935/live/cam1?cid=req" });
  });

  it.each([
    ["no stream", "", 400, "invalid_stream"],
    ["an empty stream", "stream=", 400, "invalid_stream"],
    ["a 129-character stream", `stream=${"a".repeat(129)}`, 400, "invalid_stream"],
    ["a path traversal", "stream=..%2Fetc", 400, "invalid_stream"],
    ["a stream of '..'", "stream=..", 400, "invalid_stream"],
    ["a space in the name", "stream=cam%2042", 400, "invalid_stream"],
    ["a CRLF header injection", "stream=cam%0D%0ASet-Cookie:x", 400, "invalid_stream"],
    ["an nginx config injection", "stream=cam;%20deny%20all", 400, "invalid_stream"],
    ["a broken %-escape", "stream=cam%zz", 400, "malformed_encoding"],
    ["a missing camera key", "stream=cam1", 403, "camera_key_required"],
    ["a wrong camera key", "stream=cam1&key=wrongwrongwrongwrongww", 403, "invalid_camera_key"],
    ["another camera's key", `stream=cam1&key=${key("cam2")}`, 403, "invalid_camera_key"],
    ["a truncated key", `stream=cam1&key=${key("cam1").slice(0, 10)}`, 403, "invalid_camera_key"],
    ["a key with characters no key has", "stream=cam1&key=%C3%B3%22%3E", 400, "invalid_key"],
    ["a 65-character key", `stream=cam1&key=${"k".repeat(65)}`, 400, "invalid_key"],
  ])(
    "refuses %s (query %j) with a %i JSON error and writes nothing, not even a waiting camera",
    async (_, query, status, code) => {
      // No room anywhere: a request that got as far as placement would note its camera waiting.
      const { handler, deps } = setup([fullNode()]);
      const result = await resolve(handler, query);
      expect(result.statusCode).toBe(status);
      expect(JSON.parse(result.body as string)).toEqual({ error: code, message: expect.any(String) });
      expectNoWrite();
      expect(deps.scaleOut.reasons).toEqual([]);
    },
  );

  it("passes over a node whose item DynamoDB refuses (its size limit), placing the camera on the next", async () => {
    const { handler, deps } = setup([makeNode({ nodeId: "i-old" }), makeNode({ nodeId: "i-new", launchedAt: T0 + 1 })]);
    ddb.on(UpdateItemCommand, { Key: dynamoItem(nodeItemKey("i-old")) }).rejects(
      Object.assign(new Error("Item size to update has exceeded the maximum allowed size"), {
        name: "ValidationException",
      }),
    );
    const result = await resolve(handler, `stream=cam1&key=${key("cam1")}`);
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body as string)).toMatchObject({ nodeId: "i-new" });
    expect(deps.telemetry.counters.get(METRIC.nodeWritesRefused)).toBe(1);
  });
});
