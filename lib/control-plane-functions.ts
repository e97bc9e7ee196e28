/**
 * The control plane's Lambdas, their environments and every grant. Each Lambda gets exactly what
 * it calls (see lambdas/functions/aws-wiring.ts and the handlers), scoped to this fleet's own
 * table, secrets, group and node-secret path.
 */
import { Duration } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Secret } from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import { ENV, type FunctionName, LIFECYCLE, REGISTRY_TABLE, STATUS_PAGE_FILES } from "../lambdas/contract";
import type { FleetConfig } from "../lambdas/core/config";
import { FleetFunction } from "./fleet-function";
import { type FleetNames, stackArn } from "./fleet-names";
import type { FleetSecrets } from "./fleet-secrets";
import { acknowledge, wildcardFinding } from "./nag";

/** The fleet's Lambdas, by entry point. */
export type FleetFunctions = Readonly<Record<FunctionName, FleetFunction>>;

/** Props of `ControlPlaneFunctions`. */
export interface ControlPlaneFunctionsProps {
  /** The group and node-secret path the Lambdas act on. */
  readonly names: FleetNames;
  /** The validated policy, passed to the Lambdas that apply it. */
  readonly fleetConfig: FleetConfig;
  /** Retention of the Lambdas' log groups. */
  readonly logRetention: RetentionDays;
  /** The registry the Lambdas read and write. */
  readonly table: Table;
  /** The master secrets the Lambdas may read. */
  readonly secrets: FleetSecrets;
  /** Where cameras may call from: checked by the camera Lambdas when camera keys are off. */
  readonly cameraCidrs: readonly string[];
  /** Concurrent executions reserved for the heartbeat and publish Lambdas each; 0 reserves none. */
  readonly reservedConcurrency: number;
}

/** nginx-rtmp waits at most 10 s for on_publish, cold start included; the agent waits 9 s. */
const CALLBACK_TIMEOUT = Duration.seconds(8);
const OPERATOR_VIEW_TIMEOUT = Duration.seconds(10);
/** The scaler's reservation: its scheduled run and one woken by a resolve (the lease lets one act at a time). */
const SCALER_RESERVED_CONCURRENCY = 2;

interface FunctionSpec {
  /** The construct id: part of the logical id of each of its resources, so never renamed. */
  readonly id: string;
  readonly description: string;
  readonly timeout: Duration;
  /** Files of the repository copied beside its code (what it reads at run time). */
  readonly files?: readonly string[];
}

/** What each Lambda is. */
const FUNCTIONS: Readonly<Record<FunctionName, FunctionSpec>> = {
  resolve: { id: "Resolve", description: "GET /resolve: where a camera publishes", timeout: CALLBACK_TIMEOUT },
  publish: { id: "Publish", description: "POST /hooks/publish: nginx-rtmp on_publish", timeout: CALLBACK_TIMEOUT },
  done: { id: "Done", description: "POST /hooks/done: nginx-rtmp on_publish_done", timeout: CALLBACK_TIMEOUT },
  heartbeat: {
    id: "Heartbeat",
    description: "POST /nodes/heartbeat and /nodes/boot: the node's reports",
    timeout: CALLBACK_TIMEOUT,
  },
  nodes: { id: "Nodes", description: "GET /nodes: operator view of the nodes", timeout: OPERATOR_VIEW_TIMEOUT },
  streams: {
    id: "Streams",
    description: "GET /streams: operator view of the streams",
    timeout: OPERATOR_VIEW_TIMEOUT,
  },
  events: {
    id: "Events",
    description: "GET /events: operator view of recent fleet events",
    timeout: OPERATOR_VIEW_TIMEOUT,
  },
  "not-found": { id: "NotFound", description: "$default route: JSON 404/405", timeout: Duration.seconds(5) },
  scaler: {
    id: "Scaler",
    description: "Scales the media nodes (every minute, and on demand)",
    timeout: Duration.seconds(60),
  },
  lifecycle: {
    id: "Lifecycle",
    description: "Media-node lifecycle hooks: register, issue and revoke node secrets",
    timeout: Duration.seconds(30),
  },
  play: { id: "Play", description: "GET /play: where a viewer plays a live stream", timeout: CALLBACK_TIMEOUT },
  "viewer-hooks": {
    id: "ViewerHooks",
    description: "POST /hooks/play and /hooks/play_done: nginx-rtmp on_play, on_play_done",
    timeout: CALLBACK_TIMEOUT,
  },
  status: {
    id: "Status",
    description: "GET / and GET /status: the status page and the summary it draws",
    timeout: OPERATOR_VIEW_TIMEOUT,
    files: STATUS_PAGE_FILES,
  },
};

type Environment = Readonly<Record<string, string>>;

/** The Lambdas' environments, by what each needs. */
interface EnvironmentsByNeed {
  /** The fleet and its policy: the scaler. */
  readonly scaler: Environment;
  /** The policy and the node secrets' master: every HTTP Lambda. */
  readonly http: Environment;
  /** The camera keys' master too when keys are on, else the camera CIDRs: /resolve and the hooks. */
  readonly camera: Environment;
  /** The operator token too: the operator views. */
  readonly operator: Environment;
  /** The viewer keys' master too, when viewer access is on: /play, on_play and on_play_done. */
  readonly viewer: Environment;
  /** The node secrets' master and where to write each node's secret, without the policy. */
  readonly lifecycle: Environment;
}

/**
 * The environments of the Lambdas, by what they need. Every HTTP Lambda builds the same
 * dependencies (awsApiDeps), which read the secrets' ids; an id alone gives no access: each
 * Lambda may read only the secrets granted to it.
 */
function environments({
  names,
  fleetConfig,
  table,
  secrets,
  cameraCidrs,
}: ControlPlaneFunctionsProps): EnvironmentsByNeed {
  const fleet = {
    [ENV.table]: table.tableName,
    [ENV.groupName]: names.groupName,
    [ENV.launchHook]: LIFECYCLE.launchHook,
    [ENV.terminateHook]: LIFECYCLE.terminateHook,
    [ENV.serviceName]: names.fleetName,
    [ENV.logLevel]: fleetConfig.logLevel,
  };
  const policy = { ...fleet, [ENV.fleetConfig]: JSON.stringify(fleetConfig) };
  const http = policy;
  // Where node secrets are written, and the ARN they are tagged with (the node role reads by the tag).
  const nodeSecrets = {
    [ENV.nodeSecretPrefix]: names.nodeSecretParameterPrefix,
    [ENV.instanceArnPrefix]: stackArn("ec2", "instance/"),
  };
  // Keys on, a camera proves itself by its key; keys off, by its address.
  const cameraCheck: Environment = secrets.cameraMasterSecret
    ? { [ENV.cameraSecret]: secrets.cameraMasterSecret.secretArn }
    : { [ENV.cameraCidrs]: cameraCidrs.join(",") };
  const viewerSecret: Environment = secrets.viewerMasterSecret
    ? { [ENV.viewerSecret]: secrets.viewerMasterSecret.secretArn }
    : {};
  return {
    scaler: { ...policy, ...nodeSecrets },
    http,
    camera: { ...http, ...cameraCheck },
    operator: { ...http, [ENV.operatorSecret]: secrets.operatorTokenSecret.secretArn },
    viewer: { ...http, ...viewerSecret },
    lifecycle: { ...fleet, ...nodeSecrets },
  };
}

/** Builds the Lambdas and their grants in the fleet's scope (see lib/rtmp-fleet.ts for why not a child construct). */
export class ControlPlaneFunctions {
  /** The Lambdas, by entry point. */
  public readonly functions: FleetFunctions;

  constructor(scope: Construct, props: ControlPlaneFunctionsProps) {
    const env = environments(props);
    const make = (entry: FunctionName, environment: Environment, reservedConcurrency?: number) => {
      const { id, description, timeout, files } = FUNCTIONS[entry];
      return new FleetFunction(scope, id, {
        entry,
        description,
        timeout,
        files,
        environment,
        logRetention: props.logRetention,
        reservedConcurrency,
      });
    };
    // Reserved: what keeps nodes alive and admits their cameras (and the scaler, which acts on
    // them) must not wait for concurrency a flood of resolves has taken. 0 turns it off.
    const reserve = (count: number) => (props.reservedConcurrency > 0 ? count : undefined);
    // The scaler first: a camera that finds no room (a resolve, or a publish that did not resolve)
    // wakes it by its name.
    const scaler = make("scaler", env.scaler, reserve(SCALER_RESERVED_CONCURRENCY));
    const camera = { ...env.camera, [ENV.scalerFunction]: scaler.function.functionName };
    this.functions = {
      resolve: make("resolve", camera),
      publish: make("publish", camera, reserve(props.reservedConcurrency)),
      done: make("done", env.camera),
      heartbeat: make("heartbeat", env.http, reserve(props.reservedConcurrency)),
      nodes: make("nodes", env.operator),
      streams: make("streams", env.operator),
      events: make("events", env.operator),
      "not-found": make("not-found", env.http),
      scaler,
      lifecycle: make("lifecycle", env.lifecycle),
      play: make("play", env.viewer),
      "viewer-hooks": make("viewer-hooks", env.viewer),
      status: make("status", env.operator),
    };
    grantData(this.functions, props);
    grantGroupActions(this.functions, props.names);
    grantNodeRegistration([this.functions.lifecycle, this.functions.scaler], props.names);
  }
}

/**
 * What each Lambda does to the registry table: exactly the DynamoDB actions its code sends
 * (test/infra/iam-calls.test.ts records them, and fails on one missing here or granted unused).
 */
const TABLE_ACTIONS: Readonly<Record<FunctionName, readonly string[]>> = {
  resolve: ["GetItem", "Query", "UpdateItem"],
  publish: ["ConditionCheckItem", "GetItem", "PutItem", "Query", "UpdateItem"],
  done: ["ConditionCheckItem", "DeleteItem", "GetItem", "PutItem", "UpdateItem"],
  heartbeat: ["BatchGetItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"],
  nodes: ["BatchGetItem", "Query"],
  streams: ["BatchGetItem", "Query"],
  events: ["Query"],
  "not-found": [],
  scaler: ["BatchGetItem", "DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"],
  lifecycle: ["DeleteItem", "GetItem", "PutItem", "UpdateItem"],
  play: ["GetItem"],
  "viewer-hooks": ["UpdateItem"],
  status: ["Query"],
};

/** The registry, the master secrets, and the scaler's invocation. */
function grantData(f: FleetFunctions, { table, secrets }: ControlPlaneFunctionsProps) {
  // The table and its two indexes by name (the CDK's own grant adds `index/*`).
  const indexes = [REGISTRY_TABLE.roomIndex.name, REGISTRY_TABLE.fleetIndex.name];
  const resources = [table.tableArn, ...indexes.map((index) => `${table.tableArn}/index/${index}`)];
  for (const [entry, actions] of Object.entries(TABLE_ACTIONS) as [FunctionName, readonly string[]][]) {
    if (actions.length === 0) continue;
    const statement = new PolicyStatement({ actions: actions.map((action) => `dynamodb:${action}`), resources });
    f[entry].role.addToPrincipalPolicy(statement);
  }

  // GetSecretValue only: the Lambdas read a secret's value by its ARN and never describe it.
  const readSecret = (fn: FleetFunction, secret: Secret) =>
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [secret.secretArn] }),
    );
  const { cameraMasterSecret } = secrets;
  if (cameraMasterSecret) for (const fn of [f.resolve, f.publish, f.done]) readSecret(fn, cameraMasterSecret);
  for (const fn of [f.nodes, f.streams, f.events, f.status]) readSecret(fn, secrets.operatorTokenSecret);
  const { viewerMasterSecret } = secrets;
  if (viewerMasterSecret) for (const fn of [f.play, f["viewer-hooks"]]) readSecret(fn, viewerMasterSecret);

  // A camera that finds no room wakes the scaler at once (asynchronous invoke of $LATEST): at a
  // resolve, or at the publish of a camera behind the fixed ingest address, which did not resolve.
  for (const fn of [f.resolve, f.publish]) f.scaler.function.grantInvokeLatestVersion(fn.role);
}

/** Auto Scaling actions on this fleet's group only, and the scaler's two reads that take no resource. */
function grantGroupActions(f: FleetFunctions, names: FleetNames) {
  const onGroup = (fn: FleetFunction, ...actions: string[]) => {
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: actions.map((a) => `autoscaling:${a}`), resources: [names.groupArn] }),
    );
    acknowledge(
      fn.role,
      names.groupArnFinding,
      "Scoped to this fleet's group by its fixed name; the '*' stands for the group's id, a UUID that only " +
        "exists once the group is created (and the group needs the Lambdas first).",
    );
  };
  onGroup(f.resolve, "SetInstanceProtection");
  onGroup(f.publish, "SetInstanceProtection");
  // A ready heartbeat continues the launch; a boot's progress extends it, its failure abandons it.
  onGroup(f.heartbeat, "SetInstanceProtection", "CompleteLifecycleAction", "RecordLifecycleActionHeartbeat");
  // CompleteLifecycleAction: the scaler continues a launch whose heartbeat could not.
  onGroup(
    f.scaler,
    "CompleteLifecycleAction",
    "SetDesiredCapacity",
    "SetInstanceProtection",
    "TerminateInstanceInAutoScalingGroup",
  );
  onGroup(f.lifecycle, "CompleteLifecycleAction");

  f.scaler.role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ["autoscaling:DescribeAutoScalingGroups", "cloudwatch:GetMetricData", "ec2:DescribeInstanceStatus"],
      resources: ["*"],
    }),
  );
  acknowledge(
    f.scaler.role,
    "AwsSolutions-IAM5[Resource::*]",
    "autoscaling:DescribeAutoScalingGroups, cloudwatch:GetMetricData and ec2:DescribeInstanceStatus support no " +
      "resource-level permissions (IAM requires Resource '*'); all are read-only, and the scaler asks for its own " +
      "group, and for the network traffic and status of its own silent instances only.",
  );
}

/**
 * Registering nodes (the lifecycle Lambda, and the scaler repairing a missed launch): one
 * SecureString per instance, created with its tag if absent (read back otherwise) and deleted when
 * the node goes; and the instance's public address from EC2.
 */
function grantNodeRegistration(fns: readonly FleetFunction[], names: FleetNames) {
  const parameters = `parameter${names.nodeSecretParameterPrefix}/*`;
  for (const fn of fns) {
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["ssm:PutParameter", "ssm:AddTagsToResource", "ssm:GetParameter", "ssm:DeleteParameter"],
        resources: [stackArn("ssm", parameters)],
      }),
    );
    acknowledge(
      fn.role,
      wildcardFinding("ssm", parameters),
      "One parameter per instance under this fleet's own path, written at registration (with the tag naming the " +
        "only instance that may read it) and deleted when the node goes; instance ids are not known in advance.",
    );
    fn.role.addToPrincipalPolicy(new PolicyStatement({ actions: ["ec2:DescribeInstances"], resources: ["*"] }));
    acknowledge(
      fn.role,
      "AwsSolutions-IAM5[Resource::*]",
      "ec2:DescribeInstances supports no resource-level permissions; it is read-only, and asks for the public " +
        "address of this fleet's own instances only.",
    );
  }
}
