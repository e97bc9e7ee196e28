/** Typed builders for tests: nodes, HTTP events, nginx-rtmp callbacks, DynamoDB items. */

import { readFileSync } from "node:fs";
import path from "node:path";
import { Logger } from "@aws-lambda-powertools/logger";
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import type { Context } from "aws-lambda";
import { staticSecrets } from "../../lambdas/adapters/aws-secrets";
import type { InstanceLauncher, ProcessGroup } from "../../lambdas/adapters/process-group";
import { MemoryTelemetry } from "../../lambdas/adapters/telemetry";
import { nodeItemKey, REGISTRY_TABLE } from "../../lambdas/contract";
import { DEFAULT_FLEET_CONFIG, type FleetConfig } from "../../lambdas/core/config";
import { credentialHash } from "../../lambdas/core/credentials";
import type { MediaNode } from "../../lambdas/core/model";
import type { ScaleOutRequests } from "../../lambdas/core/ports";
import type { Registry } from "../../lambdas/core/registry";
import type { ApiDeps } from "../../lambdas/handlers/api";
import type { HttpEvent } from "../../lambdas/handlers/http";
import { FleetHarness, inProcessGroup, type NodeServices, nodeServices } from "../../sim/fleet-harness";

/** The epoch the tests' clocks start at. */
export const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);

/** A node record with sensible defaults: ACTIVE, launched at T0, no CPU sample, no streams. */
export function makeNode(overrides: Partial<MediaNode> & { nodeId: string }): MediaNode {
  // An ACTIVE node is listed among the nodes with room unless the test says otherwise: placement
  // still checks its room, as it does for a listing that lags.
  const listed = (overrides.state ?? "ACTIVE") === "ACTIVE" ? { hasRoom: true } : {};
  return {
    ...listed,
    state: "ACTIVE",
    launchedAt: T0,
    stateChangedAt: T0,
    rtmpBaseUrl: `rtmp://${overrides.nodeId}.test:1935/live`,
    streams: {},
    streamsChangedAt: T0,
    protectedFromScaleIn: false,
    credentialHash: credentialHash(testNodeSecret(overrides.nodeId)),
    ...overrides,
  };
}

/** A config over the defaults. */
export function makeConfig(overrides: Partial<FleetConfig> = {}): FleetConfig {
  return { ...DEFAULT_FLEET_CONFIG, ...overrides };
}

/** A clock the test moves by hand. */
export class TestClock {
  constructor(public ms = T0) {}
  readonly now = (): number => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

/** Master secrets used by the handler tests. */
export const SECRETS = { cameraMaster: "camera-master-for-tests", viewerMaster: "viewer-master-for-tests" };

/** The secret of a node in the tests: fixed per node id, so a test that builds a node record knows it. */
export function testNodeSecret(nodeId: string): string {
  return `test-secret-of-${nodeId}`.replace(/[^A-Za-z0-9_-]/g, "_").padEnd(24, "0");
}

/** Node services for in-process fleets in the tests: every node's secret is `testNodeSecret`. */
export function testNodeServices(): NodeServices {
  return nodeServices("test", testNodeSecret);
}

/** Records scale-out requests. */
export class RecordingScaleOut implements ScaleOutRequests {
  readonly reasons: string[] = [];
  async request(reason: string): Promise<void> {
    this.reasons.push(reason);
  }
}

/** A logger that keeps quiet unless LOG_LEVEL asks otherwise. */
export function quietLogger(): Logger {
  return new Logger({ serviceName: "test", logLevel: (process.env.LOG_LEVEL as "DEBUG") ?? "SILENT" });
}

/** Records which machines an in-process group starts and stops. */
export class RecordingLauncher implements InstanceLauncher {
  readonly started: string[] = [];
  readonly stopped: string[] = [];
  async start(instanceId: string): Promise<void> {
    this.started.push(instanceId);
  }
  async stop(instanceId: string): Promise<void> {
    this.stopped.push(instanceId);
  }
}

/**
 * An in-process group (the one local mode runs) wired to the registry through the same lifecycle
 * use case as the AWS lifecycle Lambda.
 */
export function makeGroup(
  registry: Registry,
  clock: TestClock,
  options: { min?: number; max?: number; desired?: number } = {},
): { group: ProcessGroup; launcher: RecordingLauncher; services: NodeServices } {
  const launcher = new RecordingLauncher();
  const services = testNodeServices();
  const group = inProcessGroup(
    registry,
    {
      min: options.min ?? 0,
      max: options.max ?? 20,
      desired: options.desired ?? 0,
      launcher,
      now: clock.now,
      idPrefix: "i-",
    },
    services,
  );
  return { group, launcher, services };
}

/** An in-process group over the registry, and a harness whose cameras, agents and scaler call the core on it. */
export function makeHarness(registry: Registry, clock: TestClock, config: FleetConfig) {
  const { group, launcher, services } = makeGroup(registry, clock);
  const harness = new FleetHarness({
    registry,
    fleet: group,
    config,
    now: clock.now,
    owner: "test",
    scaleOut: new RecordingScaleOut(),
    ...services,
  });
  return { group, launcher, harness };
}

/** Handler dependencies over a registry, with camera keys and viewer access on. */
export function makeDeps(
  registry: Registry,
  options: {
    clock?: TestClock;
    config?: FleetConfig;
    cameraKeys?: boolean;
    /** Where cameras may call from with keys off (default: anywhere). */
    cameraCidrs?: readonly string[];
    /** Viewer access (a viewer master): on unless false. */
    viewerKeys?: boolean;
    operatorToken?: string;
    fleet?: ApiDeps["fleet"];
  } = {},
): ApiDeps & { scaleOut: RecordingScaleOut; telemetry: MemoryTelemetry } {
  const clock = options.clock ?? new TestClock();
  return {
    fleet: options.fleet ?? makeGroup(registry, clock).group,
    telemetry: new MemoryTelemetry(),
    registry,
    config: options.config ?? makeConfig(),
    now: clock.now,
    logger: quietLogger(),
    secrets: staticSecrets({
      cameraMaster: options.cameraKeys === false ? undefined : SECRETS.cameraMaster,
      operatorToken: options.operatorToken,
      viewerMaster: options.viewerKeys === false ? undefined : SECRETS.viewerMaster,
    }),
    cameraCidrs: options.cameraCidrs ?? ["0.0.0.0/0"],
    scaleOut: new RecordingScaleOut(),
  };
}

/** A Lambda context good enough for the handlers. */
export const CONTEXT = {
  functionName: "test",
  functionVersion: "$LATEST",
  invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:test",
  memoryLimitInMB: "256",
  awsRequestId: "00000000-0000-0000-0000-000000000000",
  logGroupName: "/aws/lambda/test",
  logStreamName: "test",
  callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => 10_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} as Context;

/** An API Gateway HTTP API (payload 2.0) event. */
export function httpEvent(options: {
  method?: string;
  path: string;
  query?: string;
  headers?: Record<string, string>;
  body?: string;
  base64?: boolean;
  /** The caller's address as API Gateway reports it. */
  sourceIp?: string;
  /** API Gateway's id of the request (the access log's `requestId`). */
  requestId?: string;
}): HttpEvent {
  const method = options.method ?? "GET";
  return {
    version: "2.0",
    routeKey: `${method} ${options.path}`,
    rawPath: options.path,
    rawQueryString: options.query ?? "",
    headers: options.headers ?? {},
    body: options.body,
    isBase64Encoded: options.base64 ?? false,
    requestContext: {
      accountId: "123456789012",
      apiId: "api",
      domainName: "api.test",
      domainPrefix: "api",
      http: {
        method,
        path: options.path,
        protocol: "HTTP/1.1",
        sourceIp: options.sourceIp ?? "198.51.100.1",
        userAgent: "test",
      },
      requestId: options.requestId ?? "req",
      routeKey: `${method} ${options.path}`,
      stage: "$default",
      time: "21/Nov/2026:12:00:00 +0000",
      timeEpoch: T0,
    },
  };
}

/** The shim's headers for a node: its id and its derived secret. */
export function nodeHeaders(nodeId: string, secret = testNodeSecret(nodeId)): Record<string, string> {
  return { "x-node-id": nodeId, "x-node-secret": secret, "content-type": "application/x-www-form-urlencoded" };
}

/** An nginx-rtmp callback body, fields in nginx's order, then the camera's query arguments. */
export function callbackBody(fields: {
  call: string;
  name: string;
  clientid: string;
  type?: string;
  args?: string;
  flashver?: string;
  /** The client's address (nginx-rtmp's `addr`). */
  addr?: string;
}): string {
  const flashver = encodeURIComponent(fields.flashver ?? "FMLE/3.0 (compatible; Lavf59.27");
  const head = `app=live&flashver=${flashver}&swfurl=&tcurl=rtmp://127.0.0.1:19350/live&pageurl=&addr=${fields.addr ?? "127.0.0.1"}&clientid=${fields.clientid}`;
  const call = `call=${fields.call}&name=${encodeURIComponent(fields.name)}${fields.type ? `&type=${fields.type}` : ""}`;
  return [head, call, fields.args].filter(Boolean).join("&");
}

/** One request captured from the real nginx-rtmp (test/fixtures, copied from shared/fixtures). */
export interface CapturedCallback {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly contentType: string;
  readonly body: string;
}

/** Reads a captured callback file: `METHOD PATH?QUERY "CONTENT-TYPE" BODY` per line. */
export function capturedCallbacks(file: string): CapturedCallback[] {
  const text = readFileSync(path.join(__dirname, "../fixtures", file), "utf8");
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const match = /^(\S+) ([^?\s]+)\??(\S*) "([^"]*)" (.*)$/.exec(line);
      if (!match) throw new Error(`unparsable fixture line: ${line}`);
      const [, method, p, query, contentType, body] = match as unknown as string[];
      return { method, path: p, query, contentType, body } as CapturedCallback;
    });
}

/** A plain record as a DynamoDB item (what the low-level client sends and receives). */
export function dynamoItem(value: Record<string, unknown>): Record<string, AttributeValue> {
  return marshall(value, { removeUndefinedValues: true });
}

/** A node as the registry table holds it: its own item, keyed `NODE#<id>`. */
export function nodeRecordItem(node: MediaNode): Record<string, AttributeValue> {
  return dynamoItem({ ...nodeItemKey(node.nodeId), ...node });
}

/** What the registry table answers to a BatchGetItem over these nodes, for a mocked client: all of them. */
export function registryBatchGet(nodes: readonly MediaNode[]) {
  return async ({ RequestItems }: { RequestItems?: Record<string, unknown> }) => ({
    Responses: Object.fromEntries(Object.keys(RequestItems ?? {}).map((table) => [table, nodes.map(nodeRecordItem)])),
  });
}

/**
 * What the registry table answers to a GetItem over these nodes, for a mocked DynamoDB client: a
 * node's item by its key, and a stream's claim (`CLAIM#<stream>`) naming the node that holds it LIVE.
 */
export function registryGetItem(nodes: readonly MediaNode[]) {
  return async ({ Key }: { Key?: Record<string, AttributeValue> }) => {
    const pk = Key?.pk?.S ?? "";
    const { claimPrefix, nodePrefix } = REGISTRY_TABLE.partitions;
    if (pk.startsWith(nodePrefix)) {
      const node = nodes.find((n) => n.nodeId === pk.slice(nodePrefix.length));
      return node ? { Item: nodeRecordItem(node) } : {};
    }
    const stream = pk.slice(claimPrefix.length);
    const holder = nodes.find((n) => Object.hasOwn(n.streams, stream) && n.streams[stream]?.state === "LIVE");
    const clientId = holder?.streams[stream]?.clientId ?? "";
    return holder ? { Item: dynamoItem({ pk, sk: "CLAIM", stream, nodeId: holder.nodeId, clientId }) } : {};
  };
}
