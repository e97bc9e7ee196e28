import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  RecordLifecycleActionHeartbeatCommand,
  SetDesiredCapacityCommand,
  SetInstanceProtectionCommand,
} from "@aws-sdk/client-auto-scaling";
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { DeleteParameterCommand, GetParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import type { EventBridgeEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { AsgFleet } from "../../lambdas/adapters/asg-fleet";
import { DynamoRegistry } from "../../lambdas/adapters/dynamo-registry";
import { Ec2InstanceAddresses } from "../../lambdas/adapters/ec2-instance-addresses";
import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import { SsmNodeCredentials } from "../../lambdas/adapters/ssm-node-credentials";
import { MemoryTelemetry } from "../../lambdas/adapters/telemetry";
import { LIFECYCLE, nodeItemKey, REGISTRY_TABLE } from "../../lambdas/contract";
import { credentialHash } from "../../lambdas/core/credentials";
import type { MediaNode } from "../../lambdas/core/model";
import { createHeartbeatHandler } from "../../lambdas/handlers/heartbeat";
import { createLifecycleHandler, type LifecycleDetail, lifecycleTransition } from "../../lambdas/handlers/lifecycle";
import { createScalerHandler, scalerRun } from "../../lambdas/handlers/scaler";
import { createEventsHandler, createNodesHandler } from "../../lambdas/handlers/views";
import {
  CONTEXT,
  dynamoItem,
  httpEvent,
  makeConfig,
  makeDeps,
  makeNode,
  nodeHeaders,
  quietLogger,
  registryBatchGet,
  T0,
  testNodeSecret,
} from "../support/builders";

const ddb = mockClient(DynamoDBClient);
const asg = mockClient(AutoScalingClient);
const ssm = mockClient(SSMClient);
const ec2 = mockClient(EC2Client);
/** How the lifecycle Lambda and the scaler register nodes: SSM for the secrets, EC2 for the addresses (mocked). */
const NODE_REGISTRATION = {
  credentials: new SsmNodeCredentials(
    new SSMClient({ region: "us-east-1" }),
    "/rtmp-fleet/test/node-secrets",
    "arn:aws:ec2:us-east-1:123456789012:instance/",
  ),
  addresses: new Ec2InstanceAddresses(new EC2Client({ region: "us-east-1" })),
};
const registry = new DynamoRegistry(new DynamoDBClient({ region: "us-east-1" }), "registry");
const GROUP = { groupName: "fleet-media-nodes", launchHookName: "launch", terminateHookName: "terminate" };
const fleet = new AsgFleet(new AutoScalingClient({ region: "us-east-1" }), GROUP);
const item = (node: MediaNode) => dynamoItem({ ...nodeItemKey(node.nodeId), ...node });

beforeEach(() => {
  ddb.reset();
  asg.reset();
  ssm.reset();
  ec2.reset();
  // As the services answer a read of nothing.
  ddb.on(GetItemCommand).resolves({});
  ec2.on(DescribeInstancesCommand).resolves({});
});

function noWrites() {
  expect(ddb).not.toHaveReceivedCommand(UpdateItemCommand);
  expect(ddb).not.toHaveReceivedCommand(PutItemCommand);
  expect(ddb).not.toHaveReceivedCommand(DeleteItemCommand);
  expect(ddb).not.toHaveReceivedCommand(TransactWriteItemsCommand);
}

/** POSTs a JSON body to a route of the heartbeat function as node `nodeId`'s shim (or bootstrap) does. */
const postAsNode =
  (path: string) =>
  (text: string, nodeId = "i-0abc", headers: Record<string, string> = {}) =>
    createHeartbeatHandler(makeDeps(registry, { fleet }))(
      httpEvent({
        method: "POST",
        path,
        body: text,
        headers: { ...nodeHeaders(nodeId), "content-type": "application/json", ...headers },
      }),
      CONTEXT,
    );

describe("POST /nodes/heartbeat", () => {
  const body = (overrides: Record<string, unknown> = {}) =>
    JSON.stringify({
      rtmpBaseUrl: "rtmp://203.0.113.7:1935/live",
      ready: true,
      cpuPercent: 12.5,
      streams: [],
      ...overrides,
    });
  const post = postAsNode("/nodes/heartbeat");

  it("makes a PENDING node ACTIVE and continues its launch lifecycle action", async () => {
    const pending = makeNode({ nodeId: "i-0abc", state: "PENDING" });
    ddb.on(GetItemCommand).resolves({ Item: item(pending) });
    ddb.on(UpdateItemCommand).resolves({ Attributes: item({ ...pending, state: "ACTIVE" }) });
    const result = await post(body());
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body as string)).toMatchObject({
      nodeId: "i-0abc",
      state: "ACTIVE",
      heartbeatSeconds: 15,
    });
    expect(asg).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      AutoScalingGroupName: GROUP.groupName,
      LifecycleHookName: "launch",
      InstanceId: "i-0abc",
      LifecycleActionResult: "CONTINUE",
    });
  });

  it("treats 'no active lifecycle action' as done (the launch already continued)", async () => {
    const pending = makeNode({ nodeId: "i-0abc", state: "PENDING" });
    ddb.on(GetItemCommand).resolves({ Item: item(pending) });
    ddb.on(UpdateItemCommand).resolves({ Attributes: item({ ...pending, state: "ACTIVE" }) });
    asg.on(CompleteLifecycleActionCommand).rejects(
      Object.assign(new Error("No active Lifecycle Action found with instance ID i-0abc"), {
        name: "ValidationError",
      }),
    );
    expect((await post(body())).statusCode).toBe(200);
  });

  it.each<[string, string, Record<string, string>, number, string]>([
    ["an unknown node id", body(), { "x-node-id": "i-unknown" }, 401, "unauthorized"],
    [
      "a form body",
      "ready=true",
      { "content-type": "application/x-www-form-urlencoded" },
      415,
      "unsupported_media_type",
    ],
    ["broken JSON", "{", {}, 400, "malformed_json"],
    ["a JSON array", "[]", {}, 400, "malformed_json"],
    ["ready as a string", body({ ready: "yes" }), {}, 400, "invalid_heartbeat"],
    ["CPU over 100", body({ cpuPercent: 101 }), {}, 400, "invalid_heartbeat"],
    ["a negative stream average", body({ streamsAverage: -1 }), {}, 400, "invalid_heartbeat"],
    ["a stream average as text", body({ streamsAverage: "3" }), {}, 400, "invalid_heartbeat"],
    [
      "251 streams",
      body({ streams: Array.from({ length: 251 }, (_, i) => ({ name: `c${i}`, clientId: String(i) })) }),
      {},
      400,
      "invalid_heartbeat",
    ],
    ["CPU as NaN text", body({ cpuPercent: "NaN" }), {}, 400, "invalid_heartbeat"],
    ["streams not a list", body({ streams: {} }), {}, 400, "invalid_heartbeat"],
    ["a bad stream name", body({ streams: [{ name: "../etc", clientId: "1" }] }), {}, 400, "invalid_heartbeat"],
    ["a numeric client id", body({ streams: [{ name: "cam", clientId: 1 }] }), {}, 400, "invalid_heartbeat"],
    ["another node's secret", body(), { "x-node-secret": testNodeSecret("i-other") }, 401, "unauthorized"],
    ["a secret of the wrong shape", body(), { "x-node-secret": "short" }, 401, "unauthorized"],
    ["no node secret", body(), { "x-node-secret": "" }, 401, "unauthorized"],
  ])("refuses %s with %i and writes nothing", async (_, text, headers, status, code) => {
    ddb.on(GetItemCommand).resolves({ Item: item(makeNode({ nodeId: "i-0abc" })) });
    const result = await post(text, "i-0abc", headers);
    expect(result.statusCode).toBe(status);
    expect(JSON.parse(result.body as string)).toEqual({ error: code, message: expect.any(String) });
    noWrites();
    expect(asg).not.toHaveReceivedAnyCommand();
  });
});

describe("POST /nodes/boot (the heartbeat function)", () => {
  const report = (body: Record<string, unknown>) => JSON.stringify(body);
  const post = postAsNode("/nodes/boot");
  const pending = makeNode({ nodeId: "i-0abc", state: "PENDING" });
  const launchHookOfNode = { AutoScalingGroupName: GROUP.groupName, LifecycleHookName: "launch", InstanceId: "i-0abc" };
  const noActiveAction = () =>
    Object.assign(new Error("No active Lifecycle Action found with instance ID i-0abc"), { name: "ValidationError" });

  it("extends a PENDING node's launch lifecycle action on progress, and writes nothing", async () => {
    ddb.on(GetItemCommand).resolves({ Item: item(pending) });
    const result = await post(report({ stage: "packages" }));
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body as string)).toEqual({ nodeId: "i-0abc", state: "PENDING", launch: "extended" });
    expect(asg).toHaveReceivedCommandWith(RecordLifecycleActionHeartbeatCommand, launchHookOfNode);
    expect(asg).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    noWrites();
  });

  it("treats 'no active lifecycle action' as nothing to extend", async () => {
    ddb.on(GetItemCommand).resolves({ Item: item(pending) });
    asg.on(RecordLifecycleActionHeartbeatCommand).rejects(noActiveAction());
    expect((await post(report({ stage: "config" }))).statusCode).toBe(200);
  });

  it("abandons a PENDING node's launch on a failure, then declares it DEAD and records the stage and the reason", async () => {
    // Read to admit the report, read again to declare it DEAD, then read as it now is.
    ddb
      .on(GetItemCommand)
      .resolvesOnce({ Item: item(pending) })
      .resolvesOnce({ Item: item(pending) })
      .resolves({ Item: item({ ...pending, state: "DEAD" }) });
    ddb.on(UpdateItemCommand).resolves({ Attributes: item({ ...pending, state: "DEAD" }) });
    const reason = "apt-get failed 3 times: E: Unable to locate package nginx";
    const result = await post(report({ stage: "packages", failed: reason }));
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body as string)).toEqual({ nodeId: "i-0abc", state: "DEAD", launch: "abandoned" });
    expect(asg).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      ...launchHookOfNode,
      LifecycleActionResult: "ABANDON",
    });
    const dead = ddb.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(JSON.stringify(dead?.ExpressionAttributeValues)).toContain('"DEAD"');
    const event = ddb.commandCalls(PutItemCommand)[0]?.args[0].input.Item;
    expect(event?.kind).toEqual({ S: "boot-failed" });
    expect(event?.message?.S).toBe(`node i-0abc failed to boot at packages: ${reason} (launch abandoned)`);
  });

  it("writes nothing when the launch cannot be abandoned (the node's retry finds all as it was)", async () => {
    ddb.on(GetItemCommand).resolves({ Item: item(pending) });
    asg.on(CompleteLifecycleActionCommand).rejects(Object.assign(new Error("Rate exceeded"), { name: "Throttling" }));
    expect((await post(report({ stage: "units", failed: "x" }))).statusCode).toBe(503);
    noWrites();
  });

  it.each<[string, string, Record<string, string>, number, string]>([
    ["an unknown node id", report({ stage: "packages" }), { "x-node-id": "i-unknown" }, 401, "unauthorized"],
    [
      "another node's secret",
      report({ stage: "packages" }),
      { "x-node-secret": testNodeSecret("i-other") },
      401,
      "unauthorized",
    ],
    ["no node secret", report({ stage: "units", failed: "x" }), { "x-node-secret": "" }, 401, "unauthorized"],
    ["an unknown stage", report({ stage: "reboot" }), {}, 400, "invalid_boot_report"],
    ["no stage", report({ failed: "x" }), {}, 400, "invalid_boot_report"],
    ["a stage as a number", report({ stage: 2 }), {}, 400, "invalid_boot_report"],
    ["a reason as a number", report({ stage: "packages", failed: 1 }), {}, 400, "invalid_boot_report"],
    ["an empty reason", report({ stage: "packages", failed: "" }), {}, 400, "invalid_boot_report"],
    [
      "a reason of 501 characters",
      report({ stage: "packages", failed: "x".repeat(501) }),
      {},
      400,
      "invalid_boot_report",
    ],
    ["a reason of two lines", report({ stage: "packages", failed: "a\nb" }), {}, 400, "invalid_boot_report"],
    [
      "a reason of 501 code points",
      report({ stage: "units", failed: "🚀".repeat(501) }),
      {},
      400,
      "invalid_boot_report",
    ],
    ["another field", report({ stage: "packages", rtmpBaseUrl: "rtmp://x" }), {}, 400, "invalid_boot_report"],
    ["broken JSON", "{", {}, 400, "malformed_json"],
    [
      "a form body",
      "stage=packages",
      { "content-type": "application/x-www-form-urlencoded" },
      415,
      "unsupported_media_type",
    ],
  ])("refuses %s: nothing written, nothing asked of the group", async (_, text, headers, status, code) => {
    ddb.on(GetItemCommand).callsFake(async ({ Key }) => (Key.sk.S === "i-0abc" ? { Item: item(pending) } : {}));
    const result = await post(text, "i-0abc", headers);
    expect(result.statusCode).toBe(status);
    expect(JSON.parse(result.body as string)).toEqual({ error: code, message: expect.any(String) });
    noWrites();
    expect(asg).not.toHaveReceivedAnyCommand();
  });

  it("takes a reason of 500 code points (as the schema and bootstrap.sh count), whatever its UTF-16 length", async () => {
    ddb.on(GetItemCommand).resolves({ Item: item(makeNode({ nodeId: "i-0abc" })) });
    expect((await post(report({ stage: "units", failed: "🚀".repeat(500) }))).statusCode).toBe(200);
  });

  it("refuses a DEAD node (its secret died with it): nothing written, nothing asked of the group", async () => {
    ddb.on(GetItemCommand).resolves({ Item: item({ ...pending, state: "DEAD" }) });
    expect((await post(report({ stage: "units", failed: "x" }))).statusCode).toBe(401);
    noWrites();
    expect(asg).not.toHaveReceivedAnyCommand();
  });
});

describe("a failed boot, as the operator sees it", () => {
  it("is in GET /events with its stage and reason, and the node is DEAD in GET /nodes", async () => {
    const memory = new MemoryRegistry();
    await memory.createNode(makeNode({ nodeId: "i-0abc", state: "PENDING" }));
    const deps = makeDeps(memory);
    const failed = await createHeartbeatHandler(deps)(
      httpEvent({
        method: "POST",
        path: "/nodes/boot",
        headers: { ...nodeHeaders("i-0abc"), "content-type": "application/json" },
        body: JSON.stringify({ stage: "config", failed: "line 302: render_node" }),
      }),
      CONTEXT,
    );
    expect(failed.statusCode).toBe(200);
    const events = JSON.parse(
      (await createEventsHandler(deps)(httpEvent({ path: "/events" }), CONTEXT)).body as string,
    );
    expect(events.events).toContainEqual(
      expect.objectContaining({
        kind: "boot-failed",
        nodeId: "i-0abc",
        message: expect.stringContaining("failed to boot at config: line 302: render_node"),
      }),
    );
    const nodes = JSON.parse((await createNodesHandler(deps)(httpEvent({ path: "/nodes" }), CONTEXT)).body as string);
    expect(nodes.nodes).toContainEqual(expect.objectContaining({ nodeId: "i-0abc", state: "DEAD" }));
  });
});

describe("scaler handler", () => {
  const nodes = [
    makeNode({ nodeId: "i-1", lastHeartbeatAt: T0, streams: { cam: { state: "LIVE", since: T0, clientId: "1" } } }),
  ];
  const deps = (sleep?: (ms: number) => Promise<void>) => ({
    registry,
    fleet,
    config: makeConfig(),
    now: () => T0 + 1000,
    logger: quietLogger(),
    telemetry: new MemoryTelemetry(),
    sleep,
    ...NODE_REGISTRATION,
  });

  beforeEach(() => {
    ddb.on(QueryCommand).resolves({ Items: nodes.map(item) });
    ddb.on(BatchGetItemCommand).callsFake(registryBatchGet(nodes));
    asg.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        {
          AutoScalingGroupName: GROUP.groupName,
          DesiredCapacity: 1,
          MinSize: 1,
          MaxSize: 10,
          Instances: [{ InstanceId: "i-1", LifecycleState: "InService", ProtectedFromScaleIn: true } as never],
        } as never,
      ],
    });
  });

  it("raises the desired capacity to keep a spare, under the lease, and records gauges", async () => {
    const d = deps();
    const result = await createScalerHandler(d)({}, CONTEXT);
    expect(result).toEqual({ ran: true, actions: 1 });
    expect(asg).toHaveReceivedCommandWith(SetDesiredCapacityCommand, {
      AutoScalingGroupName: GROUP.groupName,
      DesiredCapacity: 2,
    });
    expect(ddb).toHaveReceivedCommandWith(PutItemCommand, {
      Item: expect.objectContaining(dynamoItem({ pk: "LEASE", sk: "scaler" })),
    });
    expect(ddb).toHaveReceivedCommandWith(DeleteItemCommand, { Key: dynamoItem({ pk: "LEASE", sk: "scaler" }) });
    expect(d.telemetry.gauges.get("StreamsLive")).toBe(1);
    expect(d.telemetry.counters.get("ScaleOutActions")).toBe(1);
  });

  it("points the fixed ingest address at the first node in fill order, as a repair", async () => {
    const held: string[] = [];
    const ingest = { hold: async (nodeId: string) => void held.push(nodeId) };
    expect(await createScalerHandler({ ...deps(), ingest })({}, CONTEXT)).toMatchObject({ ran: true });
    expect(held).toEqual(["i-1"]);
  });

  it("a scheduled run gives up at once when another run holds the lease", async () => {
    ddb.on(PutItemCommand).rejects(new ConditionalCheckFailedException({ message: "held", $metadata: {} }));
    expect(await createScalerHandler(deps())({}, CONTEXT)).toEqual({ ran: false, actions: 0 });
    expect(asg).not.toHaveReceivedCommand(SetDesiredCapacityCommand);
  });

  it("an on-demand run (a resolve found no room) waits for the running one, then runs", async () => {
    ddb
      .on(PutItemCommand)
      .rejectsOnce(new ConditionalCheckFailedException({ message: "held", $metadata: {} }))
      .rejectsOnce(new ConditionalCheckFailedException({ message: "held", $metadata: {} }))
      .resolves({});
    const slept: number[] = [];
    const report = await scalerRun(
      deps(async (ms) => void slept.push(ms)),
      { source: "resolve" },
      "req-1",
    );
    expect(report.ran).toBe(true);
    expect(slept).toEqual([1000, 1000]);
  });
});

describe("lifecycle handler", () => {
  const handler = createLifecycleHandler({
    registry,
    fleet,
    now: () => T0,
    logger: quietLogger(),
    ...NODE_REGISTRATION,
    groupName: GROUP.groupName,
  });
  const event = (
    detailType: string,
    group = GROUP.groupName,
    legs: Pick<LifecycleDetail, "Origin" | "Destination"> = {},
  ): EventBridgeEvent<string, LifecycleDetail> => ({
    version: "0",
    id: "e",
    "detail-type": detailType,
    source: "aws.autoscaling",
    account: "123456789012",
    time: new Date(T0).toISOString(),
    region: "us-east-1",
    resources: [],
    detail: {
      AutoScalingGroupName: group,
      LifecycleHookName: "launch",
      EC2InstanceId: "i-new",
      LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
      ...legs,
    },
  });

  it("on launch: issues the node a random secret of its own, readable by its instance only, and registers it PENDING with its address", async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ PublicIpAddress: "203.0.113.7" }] }] });
    expect(await handler(event(LIFECYCLE.launchEvent), CONTEXT)).toBe("launching");
    expect(ssm).toHaveReceivedCommandWith(PutParameterCommand, {
      Name: "/rtmp-fleet/test/node-secrets/i-new",
      Type: "SecureString",
      Value: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      Tags: [{ Key: "rtmp-fleet:instance", Value: "arn:aws:ec2:us-east-1:123456789012:instance/i-new" }],
    });
    const secret = ssm.commandCalls(PutParameterCommand)[0]?.args[0].input.Value as string;
    expect(ddb).toHaveReceivedCommandWith(PutItemCommand, {
      Item: expect.objectContaining(
        dynamoItem({
          ...nodeItemKey("i-new"),
          state: "PENDING",
          launchedAt: T0,
          rtmpBaseUrl: "rtmp://203.0.113.7:1935/live",
          credentialHash: credentialHash(secret),
        }),
      ),
    });
  });

  it("on a repeated launch event: keeps the secret already issued (the node may have read it)", async () => {
    ssm.on(PutParameterCommand).rejects(Object.assign(new Error("exists"), { name: "ParameterAlreadyExists" }));
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: "the-secret-issued-first-0000000000" } });
    ddb.on(QueryCommand).resolves({ Items: [] });
    // The node's item exists already; the event is written as usual.
    ddb.on(PutItemCommand).callsFake(async (input) => {
      if (!input.Item?.pk?.S?.startsWith(REGISTRY_TABLE.partitions.nodePrefix)) return {};
      throw new ConditionalCheckFailedException({ message: "exists", $metadata: {} });
    });
    ddb.on(UpdateItemCommand).resolves({ Attributes: item(makeNode({ nodeId: "i-new", state: "PENDING" })) });
    expect(await handler(event(LIFECYCLE.launchEvent), CONTEXT)).toBe("launching");
    const update = ddb.commandCalls(UpdateItemCommand)[0]?.args[0].input;
    expect(Object.values(update?.ExpressionAttributeValues ?? {})).toContainEqual({
      S: credentialHash("the-secret-issued-first-0000000000"),
    });
  });

  it("on terminate: marks the node DEAD with its streams removed, withdraws its secret, continues", async () => {
    const node = makeNode({
      nodeId: "i-new",
      lastHeartbeatAt: T0,
      streams: { cam: { state: "LIVE", since: T0, clientId: "1" } },
    });
    ddb.on(GetItemCommand).resolves({ Item: item(node) });
    expect(await handler(event(LIFECYCLE.terminateEvent), CONTEXT)).toBe("terminating");
    // The node and its streams' claims, in one atomic write.
    expect(ddb).toHaveReceivedCommandWith(TransactWriteItemsCommand, {
      TransactItems: [
        { Update: expect.objectContaining({ UpdateExpression: expect.stringContaining("REMOVE") }) },
        { Delete: expect.objectContaining({ Key: dynamoItem({ pk: "CLAIM#cam", sk: "CLAIM" }) }) },
      ],
    });
    expect(ssm).toHaveReceivedCommandWith(DeleteParameterCommand, { Name: "/rtmp-fleet/test/node-secrets/i-new" });
    expect(asg).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleHookName: "terminate",
      InstanceId: "i-new",
    });
  });

  it.each([
    ["a plain launch", "launching", LIFECYCLE.launchEvent, { Origin: "EC2", Destination: "AutoScalingGroup" }],
    ["a launch of a group without a pool", "launching", LIFECYCLE.launchEvent, {}],
    ["a launch into the warm pool", "warming", LIFECYCLE.launchEvent, { Origin: "EC2", Destination: "WarmPool" }],
    [
      "a start out of the pool",
      "launching",
      LIFECYCLE.launchEvent,
      { Origin: "WarmPool", Destination: "AutoScalingGroup" },
    ],
    ["a termination", "terminating", LIFECYCLE.terminateEvent, { Origin: "AutoScalingGroup", Destination: "EC2" }],
  ] as const)("reads %s as %s", (_case, kind, detailType, legs) => {
    const transition = lifecycleTransition(event(detailType, GROUP.groupName, legs), T0 + 1);
    expect(transition?.kind).toBe(kind);
    // A node launched from the pool is launched when it enters the group: the event's time.
    if (transition?.kind === "launching") expect(transition.launchedAt).toBe(T0);
  });

  it("on a launch into the warm pool: registers nothing, issues no secret, leaves the hook to the instance", async () => {
    const warm = event(LIFECYCLE.launchEvent, GROUP.groupName, { Origin: "EC2", Destination: "WarmPool" });
    expect(await handler(warm, CONTEXT)).toBe("warming");
    expect(ssm).not.toHaveReceivedAnyCommand();
    expect(asg).not.toHaveReceivedAnyCommand();
    // Only the event is written: no node item.
    expect(ddb).not.toHaveReceivedCommandWith(PutItemCommand, {
      Item: expect.objectContaining({ pk: { S: nodeItemKey("i-new").pk } }),
    });
    expect(ddb).not.toHaveReceivedCommand(UpdateItemCommand);
  });

  it("on a start out of the warm pool: registers the node PENDING, launched as it enters the group", async () => {
    const started = event(LIFECYCLE.launchEvent, GROUP.groupName, {
      Origin: "WarmPool",
      Destination: "AutoScalingGroup",
    });
    expect(await handler(started, CONTEXT)).toBe("launching");
    expect(ssm).toHaveReceivedCommandWith(PutParameterCommand, { Name: "/rtmp-fleet/test/node-secrets/i-new" });
    expect(ddb).toHaveReceivedCommandWith(PutItemCommand, {
      Item: expect.objectContaining(dynamoItem({ ...nodeItemKey("i-new"), state: "PENDING", launchedAt: T0 })),
    });
  });

  it("ignores another group's events and writes nothing", async () => {
    expect(await handler(event(LIFECYCLE.launchEvent, "someone-elses-group"), CONTEXT)).toBe("ignored");
    noWrites();
    expect(ssm).not.toHaveReceivedAnyCommand();
  });
});

describe("AWS adapters", () => {
  it("protects instances in batches of at most 50 ids", async () => {
    const ids = Array.from({ length: 120 }, (_, i) => `i-${i}`);
    await fleet.setProtection(ids, true);
    expect(asg).toHaveReceivedCommandTimes(SetInstanceProtectionCommand, 3);
    const sizes = asg.commandCalls(SetInstanceProtectionCommand).map((c) => c.args[0].input.InstanceIds?.length);
    expect(sizes).toEqual([50, 50, 20]);
  });
});
