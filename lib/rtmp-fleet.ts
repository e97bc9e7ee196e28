/**
 * `RtmpFleet`: the whole fleet in one construct, composed from its parts in the order they depend
 * on each other: the VPC (unless one is given), the registry table, the master secrets, the control
 * plane's Lambdas and their grants, the HTTP API, the media-node group, then the two EventBridge
 * rules that join the Lambdas to the group, the teardown that lets `cdk destroy` delete the group,
 * and the alarms with their dashboard. Every grant is
 * scoped to this fleet's own resources.
 *
 * The parts are builders over the fleet's own scope, not child constructs: CDK derives each
 * logical id from the construct path, so a child construct would add a component to every path
 * and CloudFormation would replace the registry table and the media-node group on upgrade (every
 * stream cut). Each part creates its resources as children of the fleet, under the construct ids
 * they have always had, and test/infra/logical-ids.test.ts holds them there.
 */
import { type CustomResource, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
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
import { LIFECYCLE } from "../lambdas/contract";
import { DEFAULT_FLEET_CONFIG, type FleetConfig, parseFleetConfig } from "../lambdas/core/config";
import { ControlPlaneFunctions, type FleetFunctions } from "./control-plane-functions";
import { FixedIngest, grantIngestMoves } from "./fixed-ingest";
import { FleetApi } from "./fleet-api";
import { FleetMonitoring } from "./fleet-monitoring";
import { fleetNames } from "./fleet-names";
import { FleetRegistry } from "./fleet-registry";
import { FleetSecrets } from "./fleet-secrets";
import { FleetTeardown } from "./fleet-teardown";
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
  // Node routes, each its own bucket: heartbeats are maxNodes / heartbeatSeconds a second (0.7 at 10
  // nodes and 15 s); callbacks follow cameras, and a fleet-wide reconnect of 10 nodes x 50 cameras
  // (500 on_publish) passes in about 3 s, well inside nginx-rtmp's 10 s wait for an answer.
  nodeApiRateLimit: 100,
  nodeApiBurstLimit: 200,
  // Per node-facing Lambda (heartbeat, publish): 100 requests a second at ~0.1 s each is ~10 at
  // once; twice that, so a flood of resolves cannot take the account's concurrency from them.
  reservedConcurrency: 20,
  requireCameraKeys: true,
  viewerAccess: false,
  fixedIngest: false,
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
   * The nodes' AMI, in place of Ubuntu 24.04's: an image of the operator's, made from Ubuntu 24.04
   * (root device /dev/sda1), with the node's packages installed (docs/NODE.md says which), which
   * saves the package install at each first boot.
   * @default the current Ubuntu 24.04 AMI of `instanceArchitecture`
   */
  readonly nodeImageId?: string;
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
   * The throttling of the node-facing routes (/hooks/publish, /hooks/done, /nodes/heartbeat), each
   * route its own bucket, apart from the camera and operator routes (`apiThrottle`).
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly nodeApiThrottle?: ThrottleSettings;
  /**
   * Concurrent executions reserved for the heartbeat and publish Lambdas each (the scaler reserves
   * 2), so that no other function of the account, the resolve Lambda included, can starve them. It
   * also caps them. 0 reserves nothing: an account whose concurrency quota is below the reservations
   * plus the 100 Lambda keeps unreserved cannot deploy them.
   * @default 20
   */
  readonly reservedConcurrency?: number;
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
  /**
   * Whether viewers may play streams: with a viewer key (`GET /play`, and the node's `on_play`),
   * derived from a viewer master secret created for it. Off, nginx refuses every player.
   * @default false
   */
  readonly viewerAccess?: boolean;
  /**
   * One fixed RTMP address for cameras that cannot resolve first: a Network Load Balancer on 1935
   * whose one target the control plane keeps at the first node in fill order (about $17 a month
   * before traffic: docs/DEPLOY.md). Off, cameras resolve first, and nothing is billed for it.
   * @default false
   */
  readonly fixedIngest?: boolean;
  /**
   * An ACM certificate for RTMPS on the fixed ingest address (port 443, TLS ending at the load
   * balancer); `/resolve` then answers `rtmps://` URLs through it. Needs `fixedIngest`.
   * @default no RTMPS listener
   */
  readonly ingestCertificateArn?: string;
  /**
   * The DNS name cameras are given for the fixed ingest address: a name of yours (a CNAME or alias
   * to the load balancer), which RTMPS needs, since the certificate names it. Needs `fixedIngest`.
   * @default the load balancer's own DNS name
   */
  readonly ingestDomainName?: string;
}

/** The optional props that stay optional once the defaults are applied. */
type Unset = "vpc" | "alarmEmail" | "nodeImageId" | "ingestCertificateArn" | "ingestDomainName";
/** `RtmpFleetProps` with every default applied and the policy parsed. */
type FleetSettings = Required<Omit<RtmpFleetProps, Unset>> & Pick<RtmpFleetProps, Unset>;

/**
 * The props with their defaults; the policy is parsed here, the other props are checked together
 * by `validateFleetProps`.
 * @throws ConfigError when `fleetConfig` is not a valid policy
 */
function withDefaults(fleet: Construct, props: RtmpFleetProps): FleetSettings {
  const instanceType = props.instanceType ?? new InstanceType(RTMP_FLEET_DEFAULTS.instanceType);
  return {
    ...props,
    fleetName: props.fleetName ?? Stack.of(fleet).stackName,
    fleetConfig: parseFleetConfig({ ...(props.fleetConfig ?? DEFAULT_FLEET_CONFIG) }, "RtmpFleet prop fleetConfig"),
    instanceType,
    instanceArchitecture: props.instanceArchitecture ?? instanceType.architecture,
    cameraCidrs: props.cameraCidrs ?? RTMP_FLEET_DEFAULTS.cameraCidrs,
    logRetention: props.logRetention ?? RTMP_FLEET_DEFAULTS.logRetentionDays,
    tableRemovalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN,
    apiThrottle: props.apiThrottle ?? {
      rateLimit: RTMP_FLEET_DEFAULTS.apiRateLimit,
      burstLimit: RTMP_FLEET_DEFAULTS.apiBurstLimit,
    },
    nodeApiThrottle: props.nodeApiThrottle ?? {
      rateLimit: RTMP_FLEET_DEFAULTS.nodeApiRateLimit,
      burstLimit: RTMP_FLEET_DEFAULTS.nodeApiBurstLimit,
    },
    reservedConcurrency: props.reservedConcurrency ?? RTMP_FLEET_DEFAULTS.reservedConcurrency,
    requireCameraKeys: props.requireCameraKeys ?? RTMP_FLEET_DEFAULTS.requireCameraKeys,
    viewerAccess: props.viewerAccess ?? RTMP_FLEET_DEFAULTS.viewerAccess,
    fixedIngest: props.fixedIngest ?? RTMP_FLEET_DEFAULTS.fixedIngest,
  };
}

/** The fleet: media nodes, control plane, monitoring. */
export class RtmpFleet extends Construct {
  /** The fleet's name (metrics' `service`, resource name prefix). */
  public readonly fleetName: string;
  /** The policy, parsed by `parseFleetConfig`: the group's size and what the Lambdas apply. */
  public readonly fleetConfig: FleetConfig;
  /** The nodes' VPC: the one given, or the fleet's own (public subnets, no NAT gateway, flow logs). */
  public readonly vpc: IVpc;
  /** The registry of nodes, streams and reservations; retained, with deletion protection, by default. */
  public readonly table: Table;
  /** Master secret of the camera keys; undefined when camera keys are off. */
  public readonly cameraMasterSecret?: Secret;
  /** Bearer token of the operator views (GET /nodes, /streams, /events). */
  public readonly operatorTokenSecret: Secret;
  /** Master secret of the viewer keys; undefined when viewer access is off. */
  public readonly viewerMasterSecret?: Secret;
  /** SSM path under which the lifecycle Lambda writes each node's secret (`<prefix>/<instance id>`). */
  public readonly nodeSecretParameterPrefix: string;
  /** The Lambdas, by entry point. */
  public readonly functions: FleetFunctions;
  /** The control plane's API: the routes of `ROUTES` (lambdas/contract.ts) and a JSON 404 for the rest. */
  public readonly api: HttpApi;
  /** Its `$default` stage (throttling, access logs). */
  public readonly stage: HttpStage;
  /** The API's base URL, without a trailing slash. */
  public readonly apiUrl: string;
  /** The media nodes' role: Session Manager, and each node reads its own secret only. */
  public readonly nodeRole: Role;
  /** The media nodes' security group: RTMP from the camera CIDRs only. */
  public readonly securityGroup: SecurityGroup;
  /** The media nodes' launch template: Ubuntu 24.04, IMDSv2 only, encrypted gp3, the node user data. */
  public readonly launchTemplate: LaunchTemplate;
  /** The media-node group: new nodes protected from scale-in, lifecycle hooks, AZRebalance suspended. */
  public readonly group: AutoScalingGroup;
  /** The group's name (a literal, known before the group exists). */
  public readonly groupName: string;
  /** The ARN pattern that scopes Auto Scaling permissions to the group. */
  public readonly groupArn: string;
  /** Runs the scaler every minute, without retries: the next tick covers a missed one. */
  public readonly scalerSchedule: Rule;
  /** The rule that feeds the group's lifecycle events to the lifecycle Lambda. */
  public readonly lifecycleRule: Rule;
  /** Its delete, before the group's, stops the scaler and empties the group: `cdk destroy` completes. */
  public readonly teardown: CustomResource;
  /** Where the alarms notify. */
  public readonly alarmTopic: Topic;
  /** Every alarm, each notifying `alarmTopic` when it fires and when it clears. */
  public readonly alarms: readonly Alarm[];
  /** The dashboard `<fleetName>-fleet`: nodes, CPU, streams, scale actions, Lambdas, API, alarms. */
  public readonly dashboard: Dashboard;
  /** The fixed ingest address, when `fixedIngest` is on. */
  public readonly fixedIngest?: FixedIngest;

  constructor(scope: Construct, id: string, props: RtmpFleetProps = {}) {
    super(scope, id);
    const settings = withDefaults(this, props);
    validateFleetProps(this, settings);
    const { fleetName, fleetConfig, logRetention } = settings;
    this.fleetName = fleetName;
    this.fleetConfig = fleetConfig;
    const names = fleetNames(this, fleetName);
    this.groupName = names.groupName;
    this.groupArn = names.groupArn;
    this.nodeSecretParameterPrefix = names.nodeSecretParameterPrefix;

    this.vpc = settings.vpc ?? new FleetVpc(this, { logRetention }).vpc;
    const { table } = new FleetRegistry(this, { removalPolicy: settings.tableRemovalPolicy });
    this.table = table;
    const secrets = new FleetSecrets(this, {
      fleetName,
      requireCameraKeys: settings.requireCameraKeys,
      viewerAccess: settings.viewerAccess,
    });
    this.cameraMasterSecret = secrets.cameraMasterSecret;
    this.operatorTokenSecret = secrets.operatorTokenSecret;
    this.viewerMasterSecret = secrets.viewerMasterSecret;
    const { functions } = new ControlPlaneFunctions(this, {
      names,
      fleetConfig,
      logRetention,
      table,
      secrets,
      cameraCidrs: settings.cameraCidrs,
      reservedConcurrency: settings.reservedConcurrency,
    });
    this.functions = functions;
    const { api, stage } = new FleetApi(this, {
      fleetName,
      functions,
      throttle: settings.apiThrottle,
      nodeThrottle: settings.nodeApiThrottle,
      logRetention,
    });
    this.api = api;
    this.stage = stage;
    this.apiUrl = api.apiEndpoint;

    const { instanceType, instanceArchitecture: architecture, cameraCidrs, nodeImageId } = settings;
    const nodes = new MediaNodeGroup(this, {
      names,
      fleetConfig,
      vpc: this.vpc,
      apiUrl: this.apiUrl,
      instanceType,
      architecture,
      nodeImageId,
      cameraCidrs,
    });
    this.nodeRole = nodes.role;
    this.securityGroup = nodes.securityGroup;
    this.launchTemplate = nodes.launchTemplate;
    this.group = nodes.group;
    if (settings.fixedIngest) {
      this.fixedIngest = new FixedIngest(this, {
        fleetName,
        vpc: this.vpc,
        nodeSecurityGroup: nodes.securityGroup,
        cameraCidrs,
        certificateArn: settings.ingestCertificateArn,
        domainName: settings.ingestDomainName,
      });
      grantIngestMoves(functions, this.fixedIngest, table);
    }

    this.scalerSchedule = this.newScalerSchedule();
    this.lifecycleRule = this.newLifecycleRule();
    // The group launches its first nodes as soon as it exists: their lifecycle events, heartbeats
    // and API calls must find the rule, the Lambdas and the API ready.
    this.group.node.addDependency(this.lifecycleRule, api, stage, ...Object.values(functions));
    this.teardown = new FleetTeardown(this, {
      names,
      group: this.group,
      scaler: functions.scaler.function,
      logRetention,
    }).resource;

    const monitoring = new FleetMonitoring(this, {
      names,
      fleetConfig,
      functions,
      api,
      table,
      alarmEmail: settings.alarmEmail,
    });
    this.alarmTopic = monitoring.alarmTopic;
    this.alarms = monitoring.alarms;
    this.dashboard = monitoring.dashboard;
  }

  private newScalerSchedule(): Rule {
    return new Rule(this, "ScalerSchedule", {
      description: `${this.fleetName}: runs the scaler every minute`,
      schedule: Schedule.rate(Duration.minutes(1)),
      // A missed tick is covered by the next one; retries would only pile up behind the lease.
      targets: [new LambdaFunction(this.functions.scaler.function, { retryAttempts: 0 })],
    });
  }

  /** Feeds the group's lifecycle-hook events to the lifecycle Lambda. */
  private newLifecycleRule(): Rule {
    return new Rule(this, "LifecycleRule", {
      description: `${this.fleetName}: the media-node group's lifecycle-hook events to the lifecycle Lambda`,
      eventPattern: {
        source: ["aws.autoscaling"],
        detailType: [LIFECYCLE.launchEvent, LIFECYCLE.terminateEvent],
        detail: { AutoScalingGroupName: [this.groupName] },
      },
      targets: [new LambdaFunction(this.functions.lifecycle.function, { retryAttempts: 4 })],
    });
  }
}
