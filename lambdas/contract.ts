/**
 * The fleet's contract: every name that two sides must agree on, in one place. The CDK stack,
 * the Lambdas, local mode, the nodes' shim and the tests all read it from here, so a route, an
 * environment variable or a metric cannot exist on one side only.
 *
 * Plain data, no imports: the CDK app, the Lambda bundles and the tests can all load it.
 */

/** The Lambda functions of the fleet, by entry point (`lambdas/functions/<name>.ts`). */
export const FUNCTION_NAMES = [
  "resolve",
  "publish",
  "done",
  "heartbeat",
  "nodes",
  "streams",
  "events",
  "not-found",
  "scaler",
  "lifecycle",
  "play",
  "viewer-hooks",
  "status",
] as const;
/** A Lambda function of the fleet. */
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/**
 * Who calls a route: cameras, viewers (players), the nodes (through their shim), operators and
 * their tools, or any browser (the status page, which holds no data and needs no credential).
 */
export type Caller = "camera" | "viewer" | "node" | "operator" | "browser";

/** One route of the HTTP contract. */
export interface Route {
  readonly method: "GET" | "POST";
  readonly path: string;
  /** The Lambda that serves it (a handler of `lambdas/handlers`, behind the local server too). */
  readonly function: FunctionName;
  readonly caller: Caller;
}

/** The HTTP contract: API Gateway on AWS and local mode's server route exactly these. */
export const ROUTES = [
  { method: "GET", path: "/resolve", function: "resolve", caller: "camera" },
  { method: "POST", path: "/hooks/publish", function: "publish", caller: "node" },
  { method: "POST", path: "/hooks/done", function: "done", caller: "node" },
  { method: "POST", path: "/nodes/heartbeat", function: "heartbeat", caller: "node" },
  { method: "POST", path: "/nodes/boot", function: "heartbeat", caller: "node" },
  { method: "GET", path: "/nodes", function: "nodes", caller: "operator" },
  { method: "GET", path: "/streams", function: "streams", caller: "operator" },
  { method: "GET", path: "/events", function: "events", caller: "operator" },
  { method: "GET", path: "/play", function: "play", caller: "viewer" },
  { method: "POST", path: "/hooks/play", function: "viewer-hooks", caller: "node" },
  { method: "POST", path: "/hooks/play_done", function: "viewer-hooks", caller: "node" },
  { method: "GET", path: "/", function: "status", caller: "browser" },
  { method: "GET", path: "/status", function: "status", caller: "operator" },
] as const satisfies readonly Route[];

/**
 * The status page's files (`GET /`), from the repository's root: the page, and the chart library it
 * inlines. Bundling copies them beside the status Lambda's code, where its handler reads them.
 */
export const STATUS_PAGE_FILES = [
  "lambdas/handlers/status-page.html",
  "node_modules/uplot/dist/uPlot.iife.min.js",
  "node_modules/uplot/dist/uPlot.min.css",
] as const;

/** The function that answers any request no route matches (JSON 404 or 405). */
export const UNMATCHED_ROUTE_FUNCTION = "not-found" satisfies FunctionName;

/** The route of a path, whatever the method, or undefined. */
export function routeOfPath(path: string): Route | undefined {
  return ROUTES.find((route: Route) => route.path === path);
}

/** Headers the node's shim adds to every request it forwards: the node's id and secret. */
export const NODE_HEADERS = { id: "x-node-id", secret: "x-node-secret" } as const;

/** The environment variables the stack sets on the Lambdas, read once at cold start. */
export const ENV = {
  table: "REGISTRY_TABLE",
  fleetConfig: "FLEET_CONFIG",
  cameraSecret: "CAMERA_SECRET_ID",
  /** The stack's cameraCidrs, comma-separated: where cameras may call from when camera keys are off. */
  cameraCidrs: "CAMERA_CIDRS",
  operatorSecret: "OPERATOR_SECRET_ID",
  /** The viewer keys' master: set only when viewer access is on. */
  viewerSecret: "VIEWER_SECRET_ID",
  scalerFunction: "SCALER_FUNCTION_NAME",
  groupName: "GROUP_NAME",
  launchHook: "LAUNCH_HOOK_NAME",
  terminateHook: "TERMINATE_HOOK_NAME",
  nodeSecretPrefix: "NODE_SECRET_PARAMETER_PREFIX",
  /** An instance's ARN without its id (`arn:aws:ec2:REGION:ACCOUNT:instance/`): node secrets are tagged with it. */
  instanceArnPrefix: "NODE_INSTANCE_ARN_PREFIX",
  /** The fixed ingest's target group (its ARN): set on the Lambdas that move its one target. */
  ingestTargetGroup: "INGEST_TARGET_GROUP_ARN",
  /** The fixed ingest address (the load balancer's DNS name): set on /resolve when there is one. */
  ingestHost: "INGEST_HOST",
  /** "true" when the fixed ingest speaks RTMPS on `RTMPS_PORT`: /resolve then answers rtmps:// URLs. */
  ingestTls: "INGEST_TLS",
  /** Powertools' own: the `service` of every log line and metric (the fleet's name). */
  serviceName: "POWERTOOLS_SERVICE_NAME",
  /** Powertools' own too: the fleet's `logLevel` knob, on every Lambda (the lifecycle one has no FLEET_CONFIG). */
  logLevel: "POWERTOOLS_LOG_LEVEL",
} as const;

/** The CloudWatch namespace of the control plane's metrics (dimension `service`: the fleet's name). */
export const METRIC_NAMESPACE = "RtmpFleet";

/** The names of the control plane's metrics. */
export const METRIC = {
  resolves: "Resolves",
  resolveNoCapacity: "ResolveNoCapacity",
  publishAllowed: "PublishAllowed",
  publishDenied: "PublishDenied",
  streamsEnded: "StreamsEnded",
  heartbeats: "Heartbeats",
  scaleOut: "ScaleOutActions",
  drained: "NodesDrained",
  terminated: "NodesTerminated",
  dead: "NodesDead",
  nodesActive: "NodesActive",
  nodesPending: "NodesPending",
  nodesDraining: "NodesDraining",
  /** Nodes silent while they carry streams, with nothing saying their machine is gone: kept, out of placement. */
  nodesSilent: "NodesSilent",
  /** 1 while many nodes fell silent together (the control plane is blamed), else 0. */
  silenceBreakerOpen: "SilenceBreakerOpen",
  streamsLive: "StreamsLive",
  streamsReserved: "StreamsReserved",
  nodeCpu: "NodeCpuPercent",
  scalerErrors: "ScalerErrors",
  /** A node's record the registry refused to change (not a lost race): resolve passed the node over. */
  nodeWritesRefused: "NodeWritesRefused",
  /** A player admitted by `on_play` (its viewer key good, its stream live on that node, under the cap). */
  viewersAdmitted: "ViewersAdmitted",
  /** A player refused by `on_play` for a reason of the registry's (not live there, the cap reached). */
  viewersRefused: "ViewersRefused",
} as const;

/** The dimension that carries a node's id on per-node metrics. */
export const NODE_ID_DIMENSION = "NodeId";

/**
 * The registry table: partition key `pk` and sort key `sk` (both strings), and a time-to-live
 * attribute for items that clean themselves up. Each node and each stream claim has its own
 * partition; leases and events share one each. Two sparse indexes list node items (D16 in
 * docs/ARCHITECTURE.md): the nodes with room in fill order, with the whole item, for resolve and
 * publish; and every node's key, for the scaler's read of the whole fleet.
 */
export const REGISTRY_TABLE = {
  partitionKey: "pk",
  sortKey: "sk",
  ttlAttribute: "ttl",
  partitions: {
    /** A node: `NODE#<node id>` (sort key `NODE`), with its stream slots inside. */
    nodePrefix: "NODE#",
    /** Leases (sort key: the lease's name). */
    lease: "LEASE",
    /** Fleet events (sort key: time, then a random suffix). */
    event: "EVENT",
    /** A live stream's claim: `CLAIM#<stream>` (sort key `CLAIM`), naming the node that carries it. */
    claimPrefix: "CLAIM#",
    /** A node's tombstones: `ENDED#<node id>` (sort key: `<client id>/<stream>`), expiring with the TTL. */
    endedPrefix: "ENDED#",
    /** Cameras refused for want of room lately (sort key: the stream name), expiring with the TTL. */
    waiting: "WAITING",
  },
  /** The sort key of a node item. */
  nodeSortKey: "NODE",
  /** A node's place in fill order, on every node item: launch time (16 digits, ms) `#` node id. */
  fillOrderAttribute: "fillOrder",
  /** The nodes with room: `room` set on an item while the core lists it as having room; the whole item projected. */
  roomIndex: { name: "NodesWithRoom", partitionKey: "room", sortKey: "fillOrder" },
  /** Every node: `fleet` set on every node item; keys only (the items are read by key). */
  fleetIndex: { name: "Fleet", partitionKey: "fleet", sortKey: "fillOrder" },
} as const;

/** The key of a node's item in the registry table. */
export function nodeItemKey(nodeId: string): { pk: string; sk: string } {
  return { pk: REGISTRY_TABLE.partitions.nodePrefix + nodeId, sk: REGISTRY_TABLE.nodeSortKey };
}

/** The media-node group's lifecycle hooks and the EventBridge detail-types of their events. */
export const LIFECYCLE = {
  launchHook: "media-node-launch",
  terminateHook: "media-node-terminate",
  launchEvent: "EC2 Instance-launch Lifecycle Action",
  terminateEvent: "EC2 Instance-terminate Lifecycle Action",
  /** An event's `Origin` or `Destination` when the instance leaves or enters the group's warm pool. */
  warmPool: "WarmPool",
} as const;

/** The tag of a node's secret parameter that names the only instance allowed to read it (its ARN). */
export const NODE_SECRET_INSTANCE_TAG = "rtmp-fleet:instance";

/** The port cameras publish on, and the nginx-rtmp application they publish to. */
export const RTMP_PORT = 1935;
export const RTMP_APP = "live";
/** The port of the fixed ingest's RTMPS listener (TLS ends at the load balancer, in front of 1935). */
export const RTMPS_PORT = 443;

/**
 * The tags the launch template puts on each media node, which bootstrap.sh reads from instance
 * metadata (`meta-data/tags/instance/<key>`): the fleet's settings, kept out of the user data.
 * Keys that instance metadata accepts: letters, digits and `+ - = . , _ : @`, no `/` or space.
 */
export const NODE_SETTING_TAGS = {
  apiUrl: "rtmp-fleet:api-url",
  secretParameterPrefix: "rtmp-fleet:node-secret-prefix",
  heartbeatSeconds: "rtmp-fleet:heartbeat-seconds",
  /** The group and its launch hook: a node launched into the warm pool completes its own launch action. */
  groupName: "rtmp-fleet:group-name",
  launchHook: "rtmp-fleet:launch-hook",
} as const;
