/**
 * IAM proven call by call. Each Lambda is built by its real entry point (lambdas/functions/<entry>.ts
 * and aws-wiring.ts) with the environment the synthesized template gives it, every AWS SDK client
 * mocked and recorded (test/support/aws-call-recorder.ts), and driven through its paths. Every call
 * it makes must be allowed by its own role's policies in the template, as an IAM policy simulator
 * judges them (test/support/iam-simulation.ts), and every action its role is granted must be used
 * by one of those calls, or be on the commented list of grants no test can exercise.
 */
import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  type Instance,
  SetDesiredCapacityCommand,
} from "@aws-sdk/client-auto-scaling";
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { DescribeInstanceStatusCommand, DescribeInstancesCommand } from "@aws-sdk/client-ec2";
import { DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { GetParameterCommand, ParameterAlreadyExists, PutParameterCommand } from "@aws-sdk/client-ssm";
import type { Context } from "aws-lambda";
import { ENV, FUNCTION_NAMES, type FunctionName, LIFECYCLE, REGISTRY_TABLE } from "../../lambdas/contract";
import { cameraKey, viewerKey } from "../../lambdas/core/credentials";
import type { MediaNode } from "../../lambdas/core/model";
import type { RtmpFleet } from "../../lib/rtmp-fleet";
import {
  type AwsMocks,
  iamRequestOf,
  mockAwsClients,
  resetAwsMocks,
  type SentCommand,
  sentCommands,
} from "../support/aws-call-recorder";
import {
  CONTEXT,
  callbackBody,
  dynamoItem,
  httpEvent,
  makeNode,
  nodeRecordItem,
  registryBatchGet,
  registryGetItem,
  testNodeSecret,
} from "../support/builders";
import {
  decide,
  FAKE_ACCOUNT,
  FAKE_REGION,
  grantedActions,
  type IamRequest,
  type RolePolicy,
  TemplateResolver,
} from "../support/iam-simulation";
import { templateOf } from "./helpers";

/**
 * Grants no test can exercise, each with its reason. Every other granted action must be used.
 */
const UNEXERCISED_GRANTS: Readonly<Record<string, string>> = {
  // The Lambda runtime writes each function's logs to its log group, not the function's code.
  "logs:CreateLogStream": "the Lambda runtime",
  "logs:PutLogEvents": "the Lambda runtime",
};

const mocks: AwsMocks = mockAwsClients();
// Viewer access on: the viewer Lambdas then read their secret and the registry. The fixed ingest
// on: the hooks and the scaler then move its target.
const { fleetApp, template } = templateOf({ viewerAccess: true, fixedIngest: true });
const fleet: RtmpFleet = fleetApp.stack.fleet;
const resolver = new TemplateResolver(
  template.toJSON() as { Resources: Record<string, object> },
  fleetApp.stack.stackName,
);
const idOf = (construct: { node: { defaultChild?: unknown } }) =>
  fleetApp.stack.getLogicalId(construct.node.defaultChild as Parameters<typeof fleetApp.stack.getLogicalId>[0]);

/** The environment the template gives a function, resolved: the same names the recorded calls use. */
function environmentOf(entry: FunctionName): Record<string, string> {
  const fn = template.toJSON().Resources[idOf(fleet.functions[entry].function)];
  return resolver.resolve(fn.Properties.Environment.Variables);
}

const MASTERS = {
  camera: "camera-master-for-iam",
  operator: "operator-token-for-iam",
  viewer: "viewer-master-for-iam",
};
const SECRET_VALUES: Readonly<Record<string, string>> = Object.fromEntries([
  [resolver.ref(idOf(fleet.operatorTokenSecret)), MASTERS.operator],
  ...(fleet.cameraMasterSecret ? [[resolver.ref(idOf(fleet.cameraMasterSecret)), MASTERS.camera]] : []),
  ...(fleet.viewerMasterSecret ? [[resolver.ref(idOf(fleet.viewerMasterSecret)), MASTERS.viewer]] : []),
]);

/**
 * Loads an entry point as Lambda does at cold start: its module builds the handler from the
 * environment (quiet logs, at the most severe level the logLevel knob takes, and no metrics: both
 * write to stdout and call nothing).
 */
async function coldStart(entry: FunctionName) {
  const saved = { ...process.env };
  Object.assign(process.env, environmentOf(entry), {
    AWS_REGION: FAKE_REGION,
    [ENV.logLevel]: "error",
    POWERTOOLS_METRICS_DISABLED: "true",
  });
  try {
    return (await import(`../../lambdas/functions/${entry}`)).handler as (event: unknown, context: Context) => unknown;
  } finally {
    process.env = saved;
  }
}

const item = nodeRecordItem;
/** The id of the node whose item a key names. */
const nodeIdOf = (pk: string) => pk.slice(REGISTRY_TABLE.partitions.nodePrefix.length);
/** A node that has been up an hour and sent its last heartbeat just now. */
function liveNode(overrides: Partial<MediaNode> & { nodeId: string }): MediaNode {
  const now = Date.now();
  return makeNode({
    launchedAt: now - 3_600_000,
    stateChangedAt: now - 3_600_000,
    streamsChangedAt: now - 3_600_000,
    lastHeartbeatAt: now,
    ...overrides,
  });
}
const live = (clientId: string) => ({ state: "LIVE" as const, since: Date.now() - 60_000, clientId });
const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: "The conditional request failed", $metadata: {} });

/** The registry answers: these nodes listed and read, and every update applied as the node is. */
function registryHolds(...nodes: MediaNode[]): void {
  const byId = new Map(nodes.map((n) => [n.nodeId, n]));
  mocks.dynamodb.on(QueryCommand).resolves({ Items: nodes.map(item) });
  camerasWait();
  mocks.dynamodb.on(BatchGetItemCommand).callsFake(registryBatchGet(nodes));
  mocks.dynamodb.on(GetItemCommand).callsFake(registryGetItem(nodes));
  mocks.dynamodb.on(UpdateItemCommand).callsFake(({ Key }) => {
    const nodeId = nodeIdOf(Key.pk.S);
    return { Attributes: item(byId.get(nodeId) ?? liveNode({ nodeId })) };
  });
}

/** The registry's partition of cameras waiting for room holds these streams, waiting a minute more. */
function camerasWait(...streams: string[]): void {
  const until = Date.now() + 60_000;
  const items = streams.map((sk) => dynamoItem({ pk: REGISTRY_TABLE.partitions.waiting, sk, until }));
  mocks.dynamodb
    .on(QueryCommand, { ExpressionAttributeValues: { ":pk": { S: REGISTRY_TABLE.partitions.waiting } } })
    .resolves({ Items: items });
}

/** A node with no room left. */
const fullNode = (overrides: Partial<MediaNode> & { nodeId: string }) =>
  liveNode({ cpu: { percent: 95, at: Date.now(), streams: 40 }, ...overrides });

/** The fixed ingest's target group holds these instances, healthy (the default answer: none). */
function ingestHolds(...instanceIds: string[]): void {
  mocks.elasticloadbalancing.on(DescribeTargetHealthCommand).resolves({
    TargetHealthDescriptions: instanceIds.map((Id) => ({ Target: { Id }, TargetHealth: { State: "healthy" } })),
  });
}

/** CAMERA holds the last slot of i-a, reserved; i-b, next in fill order, has room. */
function lastSlotReserved(): void {
  const reserved = { state: "RESERVED" as const, since: Date.now(), expiresAt: Date.now() + 60_000 };
  registryHolds(fullNode({ nodeId: "i-a", streams: { [CAMERA]: reserved } }), liveNode({ nodeId: "i-b" }));
}

/** SSM holds the node's secret already: issuing another fails, and the one issued is read. */
function alreadyIssued(nodeId: string): void {
  mocks.ssm
    .on(PutParameterCommand)
    .rejects(new ParameterAlreadyExists({ message: "The parameter already exists.", $metadata: {} }));
  mocks.ssm.on(GetParameterCommand).resolves({ Parameter: { Value: testNodeSecret(nodeId) } });
}

/** The group as Auto Scaling describes it. */
function groupHas(size: { desired: number; min?: number; max?: number }, ...instances: Instance[]): void {
  mocks.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      {
        AutoScalingGroupName: fleet.groupName,
        DesiredCapacity: size.desired,
        MinSize: size.min ?? 1,
        MaxSize: size.max ?? 10,
        Instances: instances,
        CreatedTime: new Date(),
        DefaultCooldown: 300,
        HealthCheckType: "EC2",
        AvailabilityZones: [`${FAKE_REGION}a`],
      },
    ],
  });
}
const instance = (id: string, state: string, protectedFromScaleIn: boolean): Instance => ({
  InstanceId: id,
  LifecycleState: state as Instance["LifecycleState"],
  ProtectedFromScaleIn: protectedFromScaleIn,
  AvailabilityZone: `${FAKE_REGION}a`,
  HealthStatus: "Healthy",
});

const CAMERA = "cam1";
const cameraKeyOf = (stream: string) => cameraKey(MASTERS.camera, stream);
const nodeAuth = (nodeId: string) => ({
  "x-node-id": nodeId,
  "x-node-secret": testNodeSecret(nodeId),
});
const operatorAuth = { authorization: `Bearer ${MASTERS.operator}` };
const callback = (call: string, nodeId: string, key = cameraKeyOf(CAMERA)) =>
  httpEvent({
    method: "POST",
    path: call === "publish" ? "/hooks/publish" : "/hooks/done",
    headers: { ...nodeAuth(nodeId), "content-type": "application/x-www-form-urlencoded" },
    body: callbackBody({
      call,
      name: CAMERA,
      clientid: "7",
      type: call === "publish" ? "live" : undefined,
      args: `key=${key}`,
    }),
  });
const viewerKeyOf = (stream: string) => viewerKey(MASTERS.viewer, stream);
const playCallback = (call: "play" | "play_done", nodeId: string) =>
  httpEvent({
    method: "POST",
    path: `/hooks/${call}`,
    headers: { ...nodeAuth(nodeId), "content-type": "application/x-www-form-urlencoded" },
    body: callbackBody({
      call,
      name: CAMERA,
      clientid: "9",
      flashver: "LNX 9,0,124,2",
      args: `key=${viewerKeyOf(CAMERA)}`,
    }),
  });
/** The claim of CAMERA, held by this node, as its item. */
const claimItem = (nodeId: string) =>
  dynamoItem({
    pk: `${REGISTRY_TABLE.partitions.claimPrefix}${CAMERA}`,
    sk: "CLAIM",
    stream: CAMERA,
    nodeId,
    clientId: "7",
  });
const heartbeat = (nodeId: string, streams: { name: string; clientId: string }[]) =>
  httpEvent({
    method: "POST",
    path: "/nodes/heartbeat",
    headers: { ...nodeAuth(nodeId), "content-type": "application/json" },
    body: JSON.stringify({ rtmpBaseUrl: "rtmp://203.0.113.7:1935/live", ready: true, cpuPercent: 20, streams }),
  });
const bootReport = (nodeId: string, report: { stage: string; failed?: string }) =>
  httpEvent({
    method: "POST",
    path: "/nodes/boot",
    headers: { ...nodeAuth(nodeId), "content-type": "application/json" },
    body: JSON.stringify(report),
  });
const lifecycleEvent = (detailType: string, instanceId: string, legs: { Destination?: string } = {}) => ({
  version: "0",
  id: "event",
  "detail-type": detailType,
  source: "aws.autoscaling",
  account: FAKE_ACCOUNT,
  time: new Date().toISOString(),
  region: FAKE_REGION,
  resources: [],
  detail: {
    AutoScalingGroupName: fleet.groupName,
    EC2InstanceId: instanceId,
    LifecycleHookName: detailType === LIFECYCLE.launchEvent ? LIFECYCLE.launchHook : LIFECYCLE.terminateHook,
    LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
    ...legs,
  },
});

/** One path of a Lambda: what the AWS side answers, the event, and what the Lambda must answer. */
interface Path {
  readonly arrange: () => void;
  readonly event: () => unknown;
  readonly expected: (result: unknown) => void;
}
const status = (code: number) => (result: unknown) => expect((result as { statusCode: number }).statusCode).toBe(code);
const scalerRan = (ran: boolean) => (result: unknown) => expect(result).toMatchObject({ ran });

/** Each Lambda's paths; the names say what each one exercises. */
const PATHS: Readonly<Record<FunctionName, Readonly<Record<string, Path>>>> = {
  resolve: {
    "places a camera and protects its node": {
      arrange: () => {
        const reserved = { state: "RESERVED" as const, since: Date.now(), expiresAt: Date.now() + 60_000 };
        registryHolds(liveNode({ nodeId: "i-a" }));
        mocks.dynamodb
          .on(UpdateItemCommand)
          .resolves({ Attributes: item(liveNode({ nodeId: "i-a", streams: { [CAMERA]: reserved } })) });
      },
      event: () => httpEvent({ path: "/resolve", query: `stream=${CAMERA}&key=${cameraKeyOf(CAMERA)}` }),
      expected: status(200),
    },
    "finds no room and wakes the scaler": {
      arrange: () => registryHolds(liveNode({ nodeId: "i-a", cpu: { percent: 95, at: Date.now(), streams: 40 } })),
      event: () => httpEvent({ path: "/resolve", query: `stream=${CAMERA}&key=${cameraKeyOf(CAMERA)}` }),
      expected: status(503),
    },
    "loses every race for a slot": {
      arrange: () => {
        registryHolds(liveNode({ nodeId: "i-a" }));
        mocks.dynamodb.on(UpdateItemCommand).rejects(conditionFailed());
      },
      event: () => httpEvent({ path: "/resolve", query: `stream=${CAMERA}&key=${cameraKeyOf(CAMERA)}` }),
      expected: status(503),
    },
    "refuses a wrong camera key": {
      arrange: () => registryHolds(),
      event: () => httpEvent({ path: "/resolve", query: `stream=${CAMERA}&key=wrong` }),
      expected: status(403),
    },
  },
  publish: {
    "lets a camera publish on its reserved slot and protects the node": {
      arrange: () =>
        registryHolds(
          liveNode({
            nodeId: "i-a",
            streams: { [CAMERA]: { state: "RESERVED", since: Date.now(), expiresAt: Date.now() + 60_000 } },
          }),
        ),
      event: () => callback("publish", "i-a"),
      expected: status(200),
    },
    "fills its node and registers the next at the fixed ingest address": {
      arrange: () => lastSlotReserved(),
      event: () => callback("publish", "i-a"),
      expected: status(200),
    },
    "fills its node and deregisters it from the fixed ingest address once the next is healthy": {
      arrange: () => {
        lastSlotReserved();
        ingestHolds("i-a", "i-b");
      },
      event: () => callback("publish", "i-a"),
      expected: status(200),
    },
    "refuses a camera that did not resolve when no node has room, notes it waiting and wakes the scaler": {
      arrange: () => registryHolds(fullNode({ nodeId: "i-a" })),
      event: () => callback("publish", "i-a"),
      expected: status(403),
    },
    "refuses a node that is not registered: no credential was issued to it": {
      arrange: () => registryHolds(),
      event: () => callback("publish", "i-a"),
      expected: status(401),
    },
  },
  done: {
    "removes the stream that ended": {
      arrange: () => registryHolds(liveNode({ nodeId: "i-a", streams: { [CAMERA]: live("7") } })),
      event: () => callback("publish_done", "i-a"),
      expected: status(200),
    },
    "ends a stream on a full node and registers the first node with room at the fixed ingest address": {
      arrange: () =>
        registryHolds(fullNode({ nodeId: "i-a", streams: { [CAMERA]: live("7") } }), liveNode({ nodeId: "i-b" })),
      event: () => callback("publish_done", "i-a"),
      expected: status(200),
    },
    "ends a stream on a full node and completes a move of the fixed ingest address": {
      arrange: () => {
        registryHolds(fullNode({ nodeId: "i-a", streams: { [CAMERA]: live("7") } }), liveNode({ nodeId: "i-b" }));
        ingestHolds("i-a", "i-b");
      },
      event: () => callback("publish_done", "i-a"),
      expected: status(200),
    },
    "leaves a tombstone for an end it does not know": {
      arrange: () => {
        registryHolds(liveNode({ nodeId: "i-a" }));
        // Not live on this connection: the removal's condition fails, and DynamoDB returns the node.
        mocks.dynamodb.on(TransactWriteItemsCommand).rejectsOnce(
          new TransactionCanceledException({
            message: "cancelled",
            $metadata: {},
            CancellationReasons: [
              { Code: "ConditionalCheckFailed", Item: item(liveNode({ nodeId: "i-a" })) },
              { Code: "None" },
            ],
          }),
        );
      },
      event: () => callback("publish_done", "i-a"),
      expected: status(200),
    },
  },
  heartbeat: {
    "makes a ready node ACTIVE, continues its launch and protects it": {
      arrange: () => {
        const pending = liveNode({ nodeId: "i-a", state: "PENDING" });
        registryHolds(pending);
        mocks.dynamodb
          .on(UpdateItemCommand)
          .resolves({ Attributes: item({ ...pending, state: "ACTIVE", streams: { [CAMERA]: live("7") } }) });
      },
      event: () => heartbeat("i-a", [{ name: CAMERA, clientId: "7" }]),
      expected: status(200),
    },
    "removes a stream its rtmp_stat no longer lists, with its claim": {
      arrange: () => {
        const missing = { ...live("7"), missingSince: Date.now() - 3_600_000 };
        registryHolds(liveNode({ nodeId: "i-a", streams: { [CAMERA]: missing } }));
      },
      event: () => heartbeat("i-a", []),
      expected: status(200),
    },
    "extends a booting node's launch on its bootstrap's progress": {
      arrange: () => registryHolds(liveNode({ nodeId: "i-a", state: "PENDING" })),
      event: () => bootReport("i-a", { stage: "packages" }),
      expected: status(200),
    },
    "abandons a failed boot's launch, declares its node DEAD and records why": {
      arrange: () => registryHolds(liveNode({ nodeId: "i-a", state: "PENDING" })),
      event: () => bootReport("i-a", { stage: "packages", failed: "apt-get failed 3 times" }),
      expected: status(200),
    },
  },
  nodes: {
    "lists the nodes": {
      arrange: () => registryHolds(liveNode({ nodeId: "i-a" })),
      event: () => httpEvent({ path: "/nodes", headers: operatorAuth }),
      expected: status(200),
    },
  },
  streams: {
    "lists the streams": {
      arrange: () => registryHolds(liveNode({ nodeId: "i-a", streams: { [CAMERA]: live("7") } })),
      event: () => httpEvent({ path: "/streams", headers: operatorAuth }),
      expected: status(200),
    },
  },
  events: {
    "lists recent events": {
      arrange: () => mocks.dynamodb.on(QueryCommand).resolves({ Items: [] }),
      event: () => httpEvent({ path: "/events", headers: operatorAuth }),
      expected: status(200),
    },
  },
  status: {
    "answers the page, which calls nothing": {
      arrange: () => undefined,
      event: () => httpEvent({ path: "/" }),
      expected: status(200),
    },
    "summarises the fleet": {
      arrange: () => mocks.dynamodb.on(QueryCommand).resolves({ Items: [] }),
      event: () => httpEvent({ path: "/status", headers: operatorAuth }),
      expected: status(200),
    },
  },
  "not-found": {
    "answers 404 to an unknown path": {
      arrange: () => undefined,
      event: () => httpEvent({ path: "/nowhere" }),
      expected: status(404),
    },
  },
  scaler: {
    "scales out, protects a node with a camera and continues a stuck launch": {
      arrange: () => {
        registryHolds(
          liveNode({
            nodeId: "i-a",
            streams: { [CAMERA]: live("7") },
            cpu: { percent: 30, at: Date.now() - 300_000, streams: 1 },
          }),
          liveNode({ nodeId: "i-b", streams: { cam2: live("8") }, protectedFromScaleIn: true }),
        );
        groupHas({ desired: 2 }, instance("i-a", "InService", false), instance("i-b", "Pending:Wait", true));
      },
      event: () => ({}),
      expected: scalerRan(true),
    },
    "reads the cameras waiting for room and launches the nodes they need": {
      arrange: () => {
        registryHolds(fullNode({ nodeId: "i-a", streams: { [CAMERA]: live("7") }, protectedFromScaleIn: true }));
        camerasWait("cam2", "cam3");
        groupHas({ desired: 1 }, instance("i-a", "InService", true));
      },
      event: () => ({}),
      expected: (result) => {
        expect(result).toMatchObject({ ran: true });
        // Two cameras waiting beyond a full node, and a node's worth of room beside them: two nodes.
        expect(mocks.autoscaling).toHaveReceivedCommandWith(SetDesiredCapacityCommand, { DesiredCapacity: 3 });
      },
    },
    "drains an idle node and terminates it": {
      arrange: () => {
        const idleSince = { streamsChangedAt: Date.now() - 7_200_000, stateChangedAt: Date.now() - 7_200_000 };
        const idle = liveNode({ nodeId: "i-d", launchedAt: Date.now() - 1_800_000, ...idleSince });
        registryHolds(
          liveNode({ nodeId: "i-a", streams: { [CAMERA]: live("7") }, protectedFromScaleIn: true }),
          liveNode({ nodeId: "i-c", ...idleSince }),
          idle,
        );
        mocks.dynamodb.on(GetItemCommand).resolves({ Item: item({ ...idle, state: "DRAINING" }) });
        groupHas(
          { desired: 3 },
          instance("i-a", "InService", true),
          instance("i-c", "InService", false),
          instance("i-d", "InService", false),
        );
      },
      event: () => ({}),
      expected: scalerRan(true),
    },
    "asks EC2 and CloudWatch whether a silent node's machine is gone, and keeps it SILENT": {
      arrange: () => {
        const silent = { lastHeartbeatAt: Date.now() - 600_000, protectedFromScaleIn: true };
        registryHolds(liveNode({ nodeId: "i-s", streams: { [CAMERA]: live("7") }, ...silent }));
        groupHas({ desired: 1 }, instance("i-s", "InService", true));
        mocks.ec2.on(DescribeInstanceStatusCommand).resolves({
          InstanceStatuses: [{ InstanceId: "i-s", InstanceState: { Name: "running", Code: 16 } }],
        });
      },
      event: () => ({}),
      expected: scalerRan(true),
    },
    "replaces a dead node at the maximum, forgets a gone one and declares a silent one dead": {
      arrange: () => {
        const longAgo = { lastHeartbeatAt: Date.now() - 3_600_000, stateChangedAt: Date.now() - 3_600_000 };
        registryHolds(
          liveNode({ nodeId: "i-a", streams: { [CAMERA]: live("7") }, protectedFromScaleIn: true }),
          liveNode({ nodeId: "i-e", state: "DEAD", ...longAgo }),
          liveNode({ nodeId: "i-f", state: "DEAD", ...longAgo }),
          liveNode({ nodeId: "i-g", lastHeartbeatAt: Date.now() - 600_000 }),
        );
        groupHas(
          { desired: 2, max: 2 },
          instance("i-a", "InService", true),
          instance("i-e", "InService", false),
          instance("i-g", "InService", false),
        );
      },
      event: () => ({}),
      expected: scalerRan(true),
    },
    "registers an instance whose launch event was missed, with the secret already issued, and finds its address": {
      arrange: () => {
        registryHolds(liveNode({ nodeId: "i-a", streams: { [CAMERA]: live("7") }, protectedFromScaleIn: true }));
        groupHas({ desired: 2 }, instance("i-a", "InService", true), instance("i-n", "InService", true));
        alreadyIssued("i-n");
        mocks.ec2.on(DescribeInstancesCommand).resolves({
          Reservations: [{ Instances: [{ InstanceId: "i-n", PublicIpAddress: "203.0.113.9" }] }],
        });
      },
      event: () => ({}),
      expected: scalerRan(true),
    },
    "completes a move of the fixed ingest address to the first node with room": {
      arrange: () => {
        registryHolds(liveNode({ nodeId: "i-a", streams: { [CAMERA]: live("7") }, protectedFromScaleIn: true }));
        groupHas({ desired: 2 }, instance("i-a", "InService", true));
        ingestHolds("i-a", "i-z");
      },
      event: () => ({}),
      expected: scalerRan(true),
    },
    "does nothing while another run holds the lease": {
      arrange: () => mocks.dynamodb.on(PutItemCommand).rejects(conditionFailed()),
      event: () => ({}),
      expected: scalerRan(false),
    },
  },
  play: {
    "finds the node where a live stream plays": {
      arrange: () => {
        const node = liveNode({ nodeId: "i-a", streams: { [CAMERA]: live("7") } });
        mocks.dynamodb
          .on(GetItemCommand)
          .callsFake(async ({ Key }) => ({ Item: Key.sk.S === "CLAIM" ? claimItem("i-a") : item(node) }));
      },
      event: () => httpEvent({ path: "/play", query: `stream=${CAMERA}&key=${viewerKeyOf(CAMERA)}` }),
      expected: status(200),
    },
    "answers 404 for a stream that is not live": {
      arrange: () => registryHolds(),
      event: () => httpEvent({ path: "/play", query: `stream=${CAMERA}&key=${viewerKeyOf(CAMERA)}` }),
      expected: status(404),
    },
    "refuses a camera key as a viewer key": {
      arrange: () => registryHolds(),
      event: () => httpEvent({ path: "/play", query: `stream=${CAMERA}&key=${cameraKeyOf(CAMERA)}` }),
      expected: status(403),
    },
  },
  "viewer-hooks": {
    "admits a player of a stream live on its node": {
      arrange: () => registryHolds(liveNode({ nodeId: "i-a", streams: { [CAMERA]: { ...live("7"), viewers: 1 } } })),
      event: () => playCallback("play", "i-a"),
      expected: status(200),
    },
    "refuses a player over the cap: the failed write says why": {
      arrange: () => {
        const full = liveNode({ nodeId: "i-a", streams: { [CAMERA]: { ...live("7"), viewers: 20 } } });
        mocks.dynamodb
          .on(UpdateItemCommand)
          .rejects(new ConditionalCheckFailedException({ message: "failed", $metadata: {}, Item: item(full) }));
      },
      event: () => playCallback("play", "i-a"),
      expected: status(403),
    },
    "gives a player's place back": {
      arrange: () => registryHolds(liveNode({ nodeId: "i-a", streams: { [CAMERA]: { ...live("7"), viewers: 1 } } })),
      event: () => playCallback("play_done", "i-a"),
      expected: status(200),
    },
  },
  lifecycle: {
    "registers a launching node and issues its secret": {
      arrange: () => registryHolds(),
      event: () => lifecycleEvent(LIFECYCLE.launchEvent, "i-new"),
      expected: (result) => expect(result).toBe("launching"),
    },
    "keeps the secret already issued on a repeated launch event": {
      arrange: () => {
        registryHolds(liveNode({ nodeId: "i-new", state: "PENDING" }));
        alreadyIssued("i-new");
        // The node's item exists already; the event is written as usual.
        mocks.dynamodb.on(PutItemCommand).callsFake(async (input) => {
          if (input.Item?.pk?.S?.startsWith(REGISTRY_TABLE.partitions.nodePrefix)) throw conditionFailed();
          return {};
        });
      },
      event: () => lifecycleEvent(LIFECYCLE.launchEvent, "i-new"),
      expected: (result) => expect(result).toBe("launching"),
    },
    "registers nothing for a launch into the warm pool: the instance completes its own launch": {
      arrange: () => registryHolds(),
      event: () => lifecycleEvent(LIFECYCLE.launchEvent, "i-warm", { Destination: LIFECYCLE.warmPool }),
      expected: (result) => expect(result).toBe("warming"),
    },
    "declares a terminating node DEAD, withdraws its secret and lets it go": {
      arrange: () => registryHolds(liveNode({ nodeId: "i-old", streams: { [CAMERA]: live("7") } })),
      event: () => lifecycleEvent(LIFECYCLE.terminateEvent, "i-old"),
      expected: (result) => expect(result).toBe("terminating"),
    },
  },
};

/** What each Lambda sent, over all its paths. */
const sent = new Map<FunctionName, SentCommand[]>();

beforeEach(() => {
  resetAwsMocks(mocks);
  mocks.secretsmanager
    .on(GetSecretValueCommand)
    .callsFake(async ({ SecretId }) => ({ SecretString: SECRET_VALUES[SecretId] }));
  groupHas({ desired: 1 });
});

afterAll(() => {
  const lines = FUNCTION_NAMES.map((entry) => {
    const calls = sent.get(entry) ?? [];
    const actions = new Set(calls.map((c) => iamRequestOf(c, () => fleet.groupName).action));
    return `${entry}: ${calls.length} calls of ${actions.size} actions (${[...actions].sort().join(", ")})`;
  });
  console.info(`IAM checked call by call:\n${lines.join("\n")}`);
});

describe.each(FUNCTION_NAMES)("the %s Lambda", (entry) => {
  const role = fleet.functions[entry].role;
  const principal = `arn:aws:sts::${FAKE_ACCOUNT}:assumed-role/${resolver.name(idOf(role))}/${entry}`;
  let handler: Awaited<ReturnType<typeof coldStart>>;
  let policies: RolePolicy[];
  const requests = () => (sent.get(entry) ?? []).map((c) => iamRequestOf(c, () => fleet.groupName));

  beforeAll(async () => {
    handler = await coldStart(entry);
    policies = resolver.rolePolicies(idOf(role));
  });

  it.each(Object.entries(PATHS[entry]))("%s", async (_name, path) => {
    path.arrange();
    path.expected(await handler(path.event(), { ...CONTEXT, functionName: entry }));
    sent.set(entry, [...(sent.get(entry) ?? []), ...sentCommands(mocks)]);
  });

  it("makes only calls its role allows", async () => {
    const denied: string[] = [];
    for (const request of uniqueRequests(requests())) {
      const decision = await decide(principal, policies, request);
      if (!decision.allowed) denied.push(`${request.action} on ${request.resource} (${decision.result})`);
    }
    expect([entry, denied]).toEqual([entry, []]);
  });

  it("is granted only what it calls", () => {
    const used = new Set(requests().map((r) => r.action));
    const unused = [...grantedActions(policies)].filter((a) => !used.has(a) && !(a in UNEXERCISED_GRANTS));
    expect([entry, unused.sort()]).toEqual([entry, []]);
  });
});

it("calls the registry with the table and the group that the template names", () => {
  const tables = new Set(
    [...sent.values()]
      .flat()
      .filter((c) => c.service === "dynamodb")
      .map((c) => c.input.TableName),
  );
  expect([...tables]).toEqual([resolver.ref(idOf(fleet.table))]);
  expect(environmentOf("scaler")[ENV.groupName]).toBe(fleet.groupName);
});

it("the check can fail: a call outside a role's grants is denied, naming it", async () => {
  const policies = resolver.rolePolicies(idOf(fleet.functions.done.role));
  const request = iamRequestOf(
    {
      service: "autoscaling",
      name: CompleteLifecycleActionCommand.name,
      input: { AutoScalingGroupName: fleet.groupName },
    },
    () => fleet.groupName,
  );
  expect(await decide("arn:aws:sts::123456789012:assumed-role/done/done", policies, request)).toEqual({
    allowed: false,
    result: "ImplicitlyDenied",
  });
});

/** Each distinct request once. */
function uniqueRequests(requests: IamRequest[]): IamRequest[] {
  return [...new Map(requests.map((r) => [`${r.action} ${r.resource}`, r])).values()];
}
