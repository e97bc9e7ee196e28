/**
 * `RtmpFleet`: the whole fleet in one construct. Media nodes (an Auto Scaling group of Ubuntu
 * instances running nginx-rtmp, protected from scale-in, with lifecycle hooks), the registry table,
 * the master secrets, the HTTP API and its Lambdas, the scaler schedule, the lifecycle-event rule,
 * and a dashboard with alarms. Every grant is scoped to this fleet's own resources.
 */
import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import type { HttpApi, HttpStage, ThrottleSettings } from "aws-cdk-lib/aws-apigatewayv2";
import type { AutoScalingGroup } from "aws-cdk-lib/aws-autoscaling";
import type { Alarm, Dashboard } from "aws-cdk-lib/aws-cloudwatch";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import {
  type InstanceArchitecture,
  InstanceType,
  type IVpc,
  type LaunchTemplate,
  type SecurityGroup,
} from "aws-cdk-lib/aws-ec2";
import { Rule, Schedule } from "aws-cdk-lib/aws-events";
import { LambdaFunction } from "aws-cdk-lib/aws-events-targets";
import type { Role } from "aws-cdk-lib/aws-iam";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Secret } from "aws-cdk-lib/aws-secretsmanager";
import type { Topic } from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import { type FunctionName, LIFECYCLE } from "../lambdas/contract";
import { DEFAULT_FLEET_CONFIG, type FleetConfig, parseFleetConfig } from "../lambdas/core/config";
import { ControlPlaneFunctions } from "./control-plane-functions";
import { FleetApi } from "./fleet-api";
import type { FleetFunction } from "./fleet-function";
import { FleetMonitoring } from "./fleet-monitoring";
import { type FleetNames, fleetNames } from "./fleet-names";
import { FleetRegistry } from "./fleet-registry";
import { FleetSecrets } from "./fleet-secrets";
import { validateFleetProps } from "./fleet-validation";
import { FleetVpc } from "./fleet-vpc";
import { MediaNodeGroup } from "./media-node-group";

/** The defaults of `RtmpFleetProps` that are plain values (the app's context defaults too). */
export const RTMP_FLEET_DEFAULTS = Object.freeze({
  instanceType: "c6i.large",
  cameraCidrs: Object.freeze(["0.0.0.0/0"]) as readonly string[],
  logRetentionDays: RetentionDays.ONE_MONTH,
  apiRateLimit: 50,
  apiBurstLimit: 100,
  requireCameraKeys: true,
});

/** Props of `RtmpFleet`. */
export interface RtmpFleetProps {
  /**
   * The fleet's name: the `service` of its metrics and logs, and the prefix of the group's name,
   * the dashboard's name and the node secrets' SSM path. Letters, digits and '-'.
   * @default the stack's name
   */
  readonly fleetName?: string;
  /**
   * The placement and scaling policy (validated again with `parseFleetConfig`). The group's
   * minimum and maximum are `minNodes` and `maxNodes`.
   * @default DEFAULT_FLEET_CONFIG
   */
  readonly fleetConfig?: FleetConfig;
  /**
   * The media nodes' instance type. A c-class suits nginx-rtmp; burstable (t) types make the CPU
   * threshold meaningless once their credits run out.
   * @default c6i.large
   */
  readonly instanceType?: InstanceType;
  /**
   * The nodes' CPU architecture, which picks the Ubuntu AMI.
   * @default the instance type's, as `InstanceType.architecture` infers it
   */
  readonly instanceArchitecture?: InstanceArchitecture;
  /**
   * IPv4 CIDR blocks allowed to reach RTMP port 1935 (the only inbound port of the nodes).
   * @default ["0.0.0.0/0"]: cameras anywhere; publishing still needs a camera key
   */
  readonly cameraCidrs?: readonly string[];
  /**
   * A VPC with public subnets (routed to an internet gateway) for the nodes.
   * @default a new VPC: public subnets in 2 zones, no NAT gateway, flow logs to CloudWatch Logs
   */
  readonly vpc?: IVpc;
  /**
   * Retention of the Lambdas', the API's and the flow logs' log groups.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the registry table when it leaves the stack: RETAIN (with deletion protection
   * on) or DESTROY.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * The API stage's throttling: steady requests per second and burst.
   * @default { rateLimit: 50, burstLimit: 100 }
   */
  readonly apiThrottle?: ThrottleSettings;
  /**
   * An email address subscribed to the alarm topic (the subscription must be confirmed).
   * @default no subscription: subscribe to the topic (`alarmTopic`) as you like
   */
  readonly alarmEmail?: string;
  /**
   * Whether cameras must present a key (`?key=`) to resolve and publish. Off, anyone who can reach
   * the API and port 1935 may publish any stream name, so `cameraCidrs` must then be narrower than /0.
   * @default true
   */
  readonly requireCameraKeys?: boolean;
}

/** The fleet: media nodes, control plane, monitoring. */
export class RtmpFleet extends Construct {
  /** The fleet's name (metrics' `service`, resource name prefix). */
  public readonly fleetName: string;
  /** The validated policy. */
  public readonly fleetConfig: FleetConfig;
  /** The VPC of the nodes. */
  public readonly vpc: IVpc;
  /** The registry. */
  public readonly table: Table;
  /** Master secret of the node secrets. */
  public readonly nodeMasterSecret: Secret;
  /** Master secret of the camera keys; undefined when camera keys are off. */
  public readonly cameraMasterSecret?: Secret;
  /** Bearer token of the operator views (GET /nodes, /streams, /events). */
  public readonly operatorTokenSecret: Secret;
  /** SSM path under which the lifecycle Lambda writes each node's secret (`<prefix>/<instance id>`). */
  public readonly nodeSecretParameterPrefix: string;
  /** The Lambdas, by entry point. */
  public readonly functions: Readonly<Record<FunctionName, FleetFunction>>;
  /** The HTTP API. */
  public readonly api: HttpApi;
  /** Its `$default` stage (throttling, access logs). */
  public readonly stage: HttpStage;
  /** The API's base URL, without a trailing slash. */
  public readonly apiUrl: string;
  /** The media nodes' role. */
  public readonly nodeRole: Role;
  /** The media nodes' security group: RTMP from the camera CIDRs only. */
  public readonly securityGroup: SecurityGroup;
  /** The media nodes' launch template. */
  public readonly launchTemplate: LaunchTemplate;
  /** The media-node group. */
  public readonly group: AutoScalingGroup;
  /** The group's name (a literal, known before the group exists). */
  public readonly groupName: string;
  /** The ARN pattern that scopes Auto Scaling permissions to the group. */
  public readonly groupArn: string;
  /** The scaler's schedule. */
  public readonly scalerSchedule: Rule;
  /** The rule that feeds the group's lifecycle events to the lifecycle Lambda. */
  public readonly lifecycleRule: Rule;
  /** Where the alarms notify. */
  public readonly alarmTopic: Topic;
  /** The alarms. */
  public readonly alarms: readonly Alarm[];
  /** The dashboard. */
  public readonly dashboard: Dashboard;

  private readonly names: FleetNames;

  constructor(scope: Construct, id: string, props: RtmpFleetProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    this.fleetName = props.fleetName ?? stack.stackName;
    const fleetConfig = parseFleetConfig(
      { ...(props.fleetConfig ?? DEFAULT_FLEET_CONFIG) },
      "RtmpFleet prop fleetConfig",
    );
    this.fleetConfig = fleetConfig;
    const instanceType = props.instanceType ?? new InstanceType(RTMP_FLEET_DEFAULTS.instanceType);
    const architecture = props.instanceArchitecture ?? instanceType.architecture;
    const cameraCidrs = props.cameraCidrs ?? RTMP_FLEET_DEFAULTS.cameraCidrs;
    const logRetention = props.logRetention ?? RTMP_FLEET_DEFAULTS.logRetentionDays;
    const tableRemovalPolicy = props.tableRemovalPolicy ?? RemovalPolicy.RETAIN;
    const throttle = props.apiThrottle ?? {
      rateLimit: RTMP_FLEET_DEFAULTS.apiRateLimit,
      burstLimit: RTMP_FLEET_DEFAULTS.apiBurstLimit,
    };
    const requireCameraKeys = props.requireCameraKeys ?? RTMP_FLEET_DEFAULTS.requireCameraKeys;
    validateFleetProps(this, {
      fleetName: this.fleetName,
      cameraCidrs,
      tableRemovalPolicy,
      apiThrottle: throttle,
      requireCameraKeys,
      alarmEmail: props.alarmEmail,
      vpc: props.vpc,
    });

    this.names = fleetNames(this, this.fleetName);
    this.groupName = this.names.groupName;
    this.groupArn = this.names.groupArn;
    this.nodeSecretParameterPrefix = this.names.nodeSecretParameterPrefix;

    this.vpc = props.vpc ?? new FleetVpc(this, { logRetention }).vpc;

    this.table = new FleetRegistry(this, { removalPolicy: tableRemovalPolicy }).table;

    const secrets = new FleetSecrets(this, { fleetName: this.fleetName, requireCameraKeys });
    this.nodeMasterSecret = secrets.nodeMasterSecret;
    this.cameraMasterSecret = secrets.cameraMasterSecret;
    this.operatorTokenSecret = secrets.operatorTokenSecret;

    this.functions = new ControlPlaneFunctions(this, {
      names: this.names,
      fleetConfig,
      logRetention,
      table: this.table,
      secrets,
    }).functions;

    const { api, stage } = new FleetApi(this, {
      fleetName: this.fleetName,
      functions: this.functions,
      throttle,
      logRetention,
    });
    this.api = api;
    this.stage = stage;
    this.apiUrl = api.apiEndpoint;

    const nodes = new MediaNodeGroup(this, {
      names: this.names,
      fleetConfig,
      vpc: this.vpc,
      apiUrl: this.apiUrl,
      instanceType,
      architecture,
      cameraCidrs,
    });
    this.nodeRole = nodes.role;
    this.securityGroup = nodes.securityGroup;
    this.launchTemplate = nodes.launchTemplate;
    this.group = nodes.group;

    this.scalerSchedule = new Rule(this, "ScalerSchedule", {
      description: `${this.fleetName}: runs the scaler every minute`,
      schedule: Schedule.rate(Duration.minutes(1)),
      // A missed tick is covered by the next one; retries would only pile up behind the lease.
      targets: [new LambdaFunction(this.functions.scaler.function, { retryAttempts: 0 })],
    });
    this.lifecycleRule = new Rule(this, "LifecycleRule", {
      description: `${this.fleetName}: the media-node group's lifecycle-hook events to the lifecycle Lambda`,
      eventPattern: {
        source: ["aws.autoscaling"],
        detailType: [LIFECYCLE.launchEvent, LIFECYCLE.terminateEvent],
        detail: { AutoScalingGroupName: [this.groupName] },
      },
      targets: [new LambdaFunction(this.functions.lifecycle.function, { retryAttempts: 4 })],
    });
    // The group launches its first nodes as soon as it exists: their lifecycle events, heartbeats
    // and API calls must find the rule, the Lambdas and the API ready.
    this.group.node.addDependency(this.lifecycleRule, this.api, this.stage, ...Object.values(this.functions));

    const monitoring = new FleetMonitoring(this, {
      names: this.names,
      fleetConfig,
      functions: this.functions,
      api: this.api,
      table: this.table,
      alarmEmail: props.alarmEmail,
    });
    this.alarmTopic = monitoring.alarmTopic;
    this.alarms = monitoring.alarms;
    this.dashboard = monitoring.dashboard;
  }
}
