import {
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { DynamoRegistry } from "../../lambdas/adapters/dynamo-registry";
import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import { nodeItemKey } from "../../lambdas/contract";
import { cameraKey } from "../../lambdas/core/credentials";
import { type MediaNode, slotOf } from "../../lambdas/core/model";
import { createHeartbeatHandler } from "../../lambdas/handlers/heartbeat";
import { createDoneHandler, createPublishHandler } from "../../lambdas/handlers/hooks";
import { createResolveHandler } from "../../lambdas/handlers/resolve";
import {
  CONTEXT,
  callbackBody,
  capturedCallbacks,
  dynamoItem,
  httpEvent,
  makeConfig,
  makeDeps,
  makeNode,
  nodeHeaders,
  nodeRecordItem,
  registryGetItem,
  SECRETS,
  T0,
  testNodeSecret,
} from "../support/builders";

const ddb = mockClient(DynamoDBClient);
const dynamo = new DynamoRegistry(new DynamoDBClient({ region: "us-east-1" }), "registry");
const key = (stream: string) => cameraKey(SECRETS.cameraMaster, stream);
const post = (path: string, body: string, headers: Record<string, string>) =>
  httpEvent({ method: "POST", path, body, headers });

beforeEach(() => ddb.reset());

describe("POST /hooks/publish and /hooks/done over the real registry semantics", () => {
  async function setup() {
    const registry = new MemoryRegistry();
    await registry.createNode(makeNode({ nodeId: "n1" }));
    await registry.createNode(makeNode({ nodeId: "n2", launchedAt: T0 + 1 }));
    const deps = makeDeps(registry, { config: makeConfig({ maxStreamsPerNode: 2 }) });
    return {
      registry,
      publish: createPublishHandler(deps),
      done: createDoneHandler(deps),
      resolve: createResolveHandler(deps),
    };
  }

  it("replays the captured on_done run: the player leaving cam1 does not unregister the camera", async () => {
    const { registry, publish, done } = await setup();
    // The fixtures were captured with secret=abc in the URL; here the shim's headers carry the credentials.
    const headers = { ...nodeHeaders("n1") };
    const calls = capturedCallbacks("callbacks.txt").filter((c) => c.path !== "/hooks/update");
    const withKeys = (body: string) => body.replace(/key=k-(cam\d)/, (_, cam: string) => `key=${key(cam)}`);
    const results: string[] = [];
    for (const call of calls) {
      const handler = call.path === "/hooks/publish" ? publish : done;
      const result = await handler(post(call.path, withKeys(call.body), headers), CONTEXT);
      results.push(`${call.path}:${result.statusCode}`);
      if (call.body.includes("flashver=LNX")) {
        // The player's done: cam1 is still live.
        expect((await registry.getNode("n1"))?.streams.cam1?.state).toBe("LIVE");
      }
    }
    // The player's done carries no camera key: refused without a write. Everything else is answered 200.
    expect(results.filter((r) => !r.endsWith(":200"))).toEqual(["/hooks/done:403"]);
    expect((await registry.getNode("n1"))?.streams).toEqual({});
  });

  it("replays the captured on_publish_done run", async () => {
    const { registry, publish, done } = await setup();
    const calls = capturedCallbacks("callbacks-publish-done.txt").filter((c) => c.path !== "/hooks/update");
    let live = 0;
    for (const call of calls) {
      const body = call.body.replace(/key=k-(cam\d)/, (_, cam: string) => `key=${key(cam)}`);
      const handler = call.path === "/hooks/publish" ? publish : done;
      expect((await handler(post(call.path, body, nodeHeaders("n1")), CONTEXT)).statusCode).toBe(200);
      live = Object.keys((await registry.getNode("n1"))?.streams ?? {}).length;
    }
    expect(live).toBe(0);
  });

  it("takes the stream name from nginx's own field, not from a name= the camera added to its URL", async () => {
    const { registry, publish } = await setup();
    const body = callbackBody({
      call: "publish",
      name: "cam1",
      clientid: "1",
      type: "live",
      args: `key=${key("cam1")}&name=cam2`,
    });
    expect((await publish(post("/hooks/publish", body, nodeHeaders("n1")), CONTEXT)).statusCode).toBe(200);
    expect(Object.keys((await registry.getNode("n1"))?.streams ?? {})).toEqual(["cam1"]);
  });

  it("ignores a node= the camera added: the node comes from the shim's headers", async () => {
    const { registry, publish } = await setup();
    const body = callbackBody({ call: "publish", name: "cam1", clientid: "1", args: `key=${key("cam1")}&node=n2` });
    await publish(post("/hooks/publish", body, nodeHeaders("n1")), CONTEXT);
    expect((await registry.getNode("n1"))?.streams.cam1?.state).toBe("LIVE");
    expect((await registry.getNode("n2"))?.streams).toEqual({});
  });

  it("denies a publish on a full node with 403 and registers nothing", async () => {
    const { registry, publish } = await setup();
    for (const [cam, id] of [
      ["c1", "1"],
      ["c2", "2"],
    ]) {
      const body = callbackBody({
        call: "publish",
        name: cam as string,
        clientid: id as string,
        args: `key=${key(cam as string)}`,
      });
      await publish(post("/hooks/publish", body, nodeHeaders("n1")), CONTEXT);
    }
    const body = callbackBody({ call: "publish", name: "c3", clientid: "3", args: `key=${key("c3")}` });
    const result = await publish(post("/hooks/publish", body, nodeHeaders("n1")), CONTEXT);
    expect(result.statusCode).toBe(403);
    expect(JSON.parse(result.body as string)).toMatchObject({ error: "node_full" });
    expect(Object.keys((await registry.getNode("n1"))?.streams ?? {}).sort()).toEqual(["c1", "c2"]);
  });

  it("denies a registered-but-draining node and an unregistered node", async () => {
    const { registry, publish } = await setup();
    await registry.applyChange({ nodeId: "n2", when: {}, set: { state: "DRAINING" } });
    const body = callbackBody({ call: "publish", name: "c1", clientid: "1", args: `key=${key("c1")}` });
    const draining = await publish(post("/hooks/publish", body, nodeHeaders("n2")), CONTEXT);
    expect([draining.statusCode, JSON.parse(draining.body as string).error]).toEqual([403, "node_not_active"]);
    const unknown = await publish(post("/hooks/publish", body, nodeHeaders("n9")), CONTEXT);
    // No credential was ever issued to an unregistered node: nothing it sends can match one.
    expect([unknown.statusCode, JSON.parse(unknown.body as string).error]).toEqual([401, "unauthorized"]);
  });
});

describe("unresolved publishes (cameras behind the fixed ingest address)", () => {
  async function setup() {
    const registry = new MemoryRegistry();
    await registry.createNode(makeNode({ nodeId: "n1" }));
    await registry.createNode(makeNode({ nodeId: "n2", launchedAt: T0 + 1 }));
    const publish = createPublishHandler(makeDeps(registry, { config: makeConfig({ maxStreamsPerNode: 2 }) }));
    /** A camera that never resolved publishes on the node the load balancer sent it to. */
    const arrive = async (nodeId: string, cam: string, clientid: string, args = `key=${key(cam)}`) => {
      const result = await publish(
        post("/hooks/publish", callbackBody({ call: "publish", name: cam, clientid, args }), nodeHeaders(nodeId)),
        CONTEXT,
      );
      return result.statusCode === 200 ? "allowed" : `${result.statusCode} ${JSON.parse(result.body as string).error}`;
    };
    return { registry, arrive };
  }

  it("admits them in fill order: the first node until it is full, then the next", async () => {
    const { registry, arrive } = await setup();
    expect(await arrive("n1", "c1", "1")).toBe("allowed");
    expect(await arrive("n1", "c2", "2")).toBe("allowed");
    // n1 is full: the camera's retry reaches n2 once the load balancer points there.
    expect(await arrive("n1", "c3", "3")).toBe("403 node_full");
    expect(await arrive("n2", "c3", "4")).toBe("allowed");
    const streams = async (id: string) => Object.keys((await registry.getNode(id))?.streams ?? {}).sort();
    expect([await streams("n1"), await streams("n2")]).toEqual([["c1", "c2"], ["c3"]]);
  });

  it.each([
    ["on a node behind the first in fill order", "n2", `key=${key("c1")}`, "403 not_first_in_fill_order"],
    ["without a camera key", "n1", "", "403 camera_key_required"],
    ["with another stream's key", "n1", `key=${key("c2")}`, "403 invalid_camera_key"],
  ])("refuses one %s, and writes nothing", async (_, nodeId, args, expected) => {
    const { registry, arrive } = await setup();
    const before = await registry.listNodes({ consistent: true });
    expect(await arrive(nodeId, "c1", "1", args)).toBe(expected);
    expect(await registry.listNodes({ consistent: true })).toEqual(before);
    expect(await registry.claimOf("c1")).toBeUndefined();
  });

  it("refuses one on a full node, and writes nothing", async () => {
    const { registry, arrive } = await setup();
    await arrive("n1", "c1", "1");
    await arrive("n1", "c2", "2");
    const before = await registry.listNodes({ consistent: true });
    expect(await arrive("n1", "c3", "3")).toBe("403 node_full");
    expect(await registry.listNodes({ consistent: true })).toEqual(before);
    expect(await registry.claimOf("c3")).toBeUndefined();
  });
});

describe("a node's heartbeat cannot say where the node is", () => {
  it("keeps the address the cloud gave: a reported rtmpBaseUrl moves no camera", async () => {
    const registry = new MemoryRegistry();
    await registry.createNode(makeNode({ nodeId: "n1", rtmpBaseUrl: "rtmp://203.0.113.7:1935/live" }));
    const deps = makeDeps(registry);
    const beat = await createHeartbeatHandler(deps)(
      httpEvent({
        method: "POST",
        path: "/nodes/heartbeat",
        body: JSON.stringify({ rtmpBaseUrl: "rtmp://attacker.example.net:1935/live", ready: true, streams: [] }),
        headers: { ...nodeHeaders("n1"), "content-type": "application/json" },
      }),
      CONTEXT,
    );
    expect(beat.statusCode).toBe(200);
    expect((await registry.getNode("n1"))?.rtmpBaseUrl).toBe("rtmp://203.0.113.7:1935/live");
    const resolved = await createResolveHandler(deps)(
      httpEvent({ path: "/resolve", query: `stream=cam1&key=${key("cam1")}` }),
      CONTEXT,
    );
    expect(JSON.parse(resolved.body as string).rtmpUrl).toMatch(/^rtmp:\/\/203\.0\.113\.7:1935\/live\/cam1\?key=/);
  });
});

describe("with camera keys off, a camera is known by its address (cameraCidrs)", () => {
  const CAMERAS = ["203.0.113.0/24", "192.0.2.128/25"];
  async function setup() {
    const registry = new MemoryRegistry();
    await registry.createNode(makeNode({ nodeId: "n1" }));
    const deps = makeDeps(registry, { cameraKeys: false, cameraCidrs: CAMERAS });
    return {
      registry,
      resolve: (sourceIp: string) =>
        createResolveHandler(deps)(httpEvent({ path: "/resolve", query: "stream=cam1", sourceIp }), CONTEXT),
      publish: (addr: string) =>
        createPublishHandler(deps)(
          post(
            "/hooks/publish",
            callbackBody({ call: "publish", name: "cam1", clientid: "1", addr }),
            nodeHeaders("n1"),
          ),
          CONTEXT,
        ),
      done: (addr: string) =>
        createDoneHandler(deps)(
          post(
            "/hooks/done",
            callbackBody({ call: "publish_done", name: "cam1", clientid: "1", addr }),
            nodeHeaders("n1"),
          ),
          CONTEXT,
        ),
    };
  }

  it.each([
    ["an address inside the first block", "203.0.113.77"],
    ["the last address of the second block", "192.0.2.255"],
    ["an IPv4-mapped IPv6 address inside", "::ffff:203.0.113.5"],
  ])("resolves and admits a camera calling from %s (%s)", async (_, address) => {
    const { resolve, publish, registry } = await setup();
    expect((await resolve(address)).statusCode).toBe(200);
    expect((await publish(address)).statusCode).toBe(200);
    expect(slotOf((await registry.getNode("n1")) as MediaNode, "cam1")).toMatchObject({ state: "LIVE" });
  });

  it.each([
    ["an address outside every block", "198.51.100.1"],
    ["the address just below the second block", "192.0.2.127"],
    ["an IPv6 address", "2001:db8::1"],
    ["no address", ""],
  ])(
    "refuses a camera calling from %s (%j) with 403 on resolve, publish and done, writing nothing",
    async (_, address) => {
      const { resolve, publish, done, registry } = await setup();
      const before = await registry.listNodes();
      for (const call of [resolve, publish, done]) {
        const result = await call(address);
        expect(result.statusCode).toBe(403);
        expect(JSON.parse(result.body as string)).toEqual({
          error: "address_not_allowed",
          message: expect.any(String),
        });
      }
      expect(await registry.listNodes()).toEqual(before);
    },
  );

  it("ends a stream on done from the camera's own address", async () => {
    const { publish, done, registry } = await setup();
    await publish("203.0.113.9");
    expect((await done("203.0.113.9")).statusCode).toBe(200);
    expect(slotOf((await registry.getNode("n1")) as MediaNode, "cam1")).toBeUndefined();
  });
});

describe("bad callbacks: a 4xx JSON error and nothing written", () => {
  function setup(nodes: MediaNode[] = [makeNode({ nodeId: "n1" })]) {
    ddb.on(QueryCommand).resolves({ Items: nodes.map(nodeRecordItem) });
    ddb.on(GetItemCommand).callsFake(registryGetItem(nodes));
    const deps = makeDeps(dynamo);
    return { publish: createPublishHandler(deps), done: createDoneHandler(deps) };
  }
  const good = (call = "publish") =>
    callbackBody({ call, name: "cam1", clientid: "1", type: "live", args: `key=${key("cam1")}` });
  const form = "application/x-www-form-urlencoded";

  it.each<[string, string, Record<string, string>, number, string]>([
    ["no node headers", good(), { "content-type": form }, 401, "unauthorized"],
    ["a wrong node secret", good(), { ...nodeHeaders("n1", "wrong") }, 401, "unauthorized"],
    [
      "a truncated node secret",
      good(),
      { ...nodeHeaders("n1", testNodeSecret("n1").slice(0, 8)) },
      401,
      "unauthorized",
    ],
    ["another node's secret", good(), { ...nodeHeaders("n1", testNodeSecret("n2")) }, 401, "unauthorized"],
    ["a node id with a newline", good(), { ...nodeHeaders("n1"), "x-node-id": "n1\nx" }, 401, "unauthorized"],
    [
      "a JSON body",
      JSON.stringify({ name: "cam1" }),
      { ...nodeHeaders("n1"), "content-type": "application/json" },
      415,
      "unsupported_media_type",
    ],
    ["no content type", good(), { ...nodeHeaders("n1"), "content-type": "" }, 415, "unsupported_media_type"],
    ["a broken form encoding", `${good()}&x=%E0%A4%A`, nodeHeaders("n1"), 400, "malformed_encoding"],
    ["a missing name", "call=publish&clientid=1", nodeHeaders("n1"), 400, "invalid_stream"],
    [
      "a traversal name",
      callbackBody({ call: "publish", name: "../x", clientid: "1" }),
      nodeHeaders("n1"),
      400,
      "invalid_stream",
    ],
    [
      "a 129-character name",
      callbackBody({ call: "publish", name: "a".repeat(129), clientid: "1" }),
      nodeHeaders("n1"),
      400,
      "invalid_stream",
    ],
    ["a missing clientid", "call=publish&name=cam1", nodeHeaders("n1"), 400, "invalid_clientid"],
    [
      "a non-numeric clientid",
      callbackBody({ call: "publish", name: "cam1", clientid: "x1" }),
      nodeHeaders("n1"),
      400,
      "invalid_clientid",
    ],
    ["the wrong call", good("play"), nodeHeaders("n1"), 400, "unexpected_call"],
    ["an oversized body", `${good()}&pad=${"x".repeat(270_000)}`, nodeHeaders("n1"), 413, "body_too_large"],
    [
      "a missing camera key",
      callbackBody({ call: "publish", name: "cam1", clientid: "1" }),
      nodeHeaders("n1"),
      403,
      "camera_key_required",
    ],
    [
      "a wrong camera key",
      callbackBody({ call: "publish", name: "cam1", clientid: "1", args: `key=${key("cam2")}` }),
      nodeHeaders("n1"),
      403,
      "invalid_camera_key",
    ],
  ])("publish with %s", async (_, body, headers, status, code) => {
    const { publish } = setup();
    const result = await publish(post("/hooks/publish", body, headers), CONTEXT);
    expect(result.statusCode).toBe(status);
    expect(JSON.parse(result.body as string)).toEqual({ error: code, message: expect.any(String) });
    expect(ddb).not.toHaveReceivedCommand(UpdateItemCommand);
    expect(ddb).not.toHaveReceivedCommand(PutItemCommand);
    expect(ddb).not.toHaveReceivedCommand(DeleteItemCommand);
  });

  it.each<[string, string, Record<string, string>, number]>([
    ["no node headers", good("done"), { "content-type": form }, 401],
    ["a JSON body", "{}", { ...nodeHeaders("n1"), "content-type": "application/json" }, 415],
    ["the wrong call", good("play_done"), nodeHeaders("n1"), 400],
    ["a bad name", callbackBody({ call: "done", name: "a b", clientid: "1" }), nodeHeaders("n1"), 400],
  ])("done with %s", async (_, body, headers, status) => {
    const { done } = setup();
    const result = await done(post("/hooks/done", body, headers), CONTEXT);
    expect(result.statusCode).toBe(status);
    expect(ddb).not.toHaveReceivedCommand(UpdateItemCommand);
  });

  it("accepts a base64-encoded body as API Gateway may deliver it", async () => {
    ddb.on(UpdateItemCommand).resolves({
      Attributes: nodeRecordItem(makeNode({ nodeId: "n1" })),
    });
    const { publish } = setup();
    const event = httpEvent({
      method: "POST",
      path: "/hooks/publish",
      body: Buffer.from(good()).toString("base64"),
      base64: true,
      headers: nodeHeaders("n1"),
    });
    expect((await publish(event, CONTEXT)).statusCode).toBe(200);
  });

  it("answers done 200 for an unknown stream (idempotent), writing only a tombstone", async () => {
    const { done } = setup();
    // The stream is not live on this connection: the removal's condition fails, and DynamoDB returns the node.
    ddb.on(TransactWriteItemsCommand).rejectsOnce(
      new TransactionCanceledException({
        message: "cancelled",
        $metadata: {},
        CancellationReasons: [
          {
            Code: "ConditionalCheckFailed",
            Item: nodeRecordItem(makeNode({ nodeId: "n1" })),
          },
          { Code: "None" },
        ],
      }),
    );
    const result = await done(post("/hooks/done", good("done"), nodeHeaders("n1")), CONTEXT);
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body as string)).toMatchObject({ result: "ignored" });
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 2);
    // The tombstone is an item of its own, written only if the node exists: never a field of the node's record.
    expect(ddb).toHaveReceivedCommandWith(TransactWriteItemsCommand, {
      TransactItems: [
        expect.objectContaining({
          ConditionCheck: expect.objectContaining({ Key: dynamoItem(nodeItemKey("n1")) }),
        }),
        {
          Put: expect.objectContaining({
            Item: expect.objectContaining({ pk: { S: "ENDED#n1" }, sk: { S: "1/cam1" } }),
          }),
        },
      ],
    });
  });
});
