/**
 * The media nodes: Ubuntu instances running nginx-rtmp in an Auto Scaling group that never picks
 * a node to remove by itself. New nodes are protected from scale-in, every launch and termination
 * waits in a lifecycle hook for the lifecycle Lambda, and AZRebalance is suspended. Each node may
 * read its own node secret and nothing else; only RTMP is open, to the camera CIDRs. With
 * `warmPoolSize`, a warm pool of stopped, pre-installed instances beside the group
 * (docs/ARCHITECTURE.md D17).
 */
import { RemovalPolicy, Tags } from "aws-cdk-lib";
import {
  AutoScalingGroup,
  type CfnAutoScalingGroup,
  GroupMetrics,
  PoolState,
  TerminationPolicy,
} from "aws-cdk-lib/aws-autoscaling";
import {
  BlockDeviceVolume,
  type CfnLaunchTemplate,
  EbsDeviceVolumeType,
  type IMachineImage,
  InstanceArchitecture,
  type InstanceType,
  type IVpc,
  LaunchTemplate,
  LaunchTemplateHttpTokens,
  MachineImage,
  OperatingSystemType,
  Peer,
  Port,
  SecurityGroup,
  SubnetType,
  UserData,
} from "aws-cdk-lib/aws-ec2";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from "aws-cdk-lib/custom-resources";
import type { Construct } from "constructs";
import { LIFECYCLE, NODE_SECRET_INSTANCE_TAG, RTMP_PORT } from "../lambdas/contract";
import type { FleetConfig } from "../lambdas/core/config";
import { type FleetNames, stackArn } from "./fleet-names";
import { mediaNodeSettingTags, mediaNodeUserData } from "./media-node-user-data";
import { acknowledge, wildcardFinding } from "./nag";

/** How long a launching node may take to report ready before the group abandons it (seconds). */
export const LAUNCH_HOOK_TIMEOUT_SECONDS = 600;
/** How long a terminating node is held for the lifecycle Lambda (seconds). */
export const TERMINATE_HOOK_TIMEOUT_SECONDS = 120;

/** The public SSM parameter of the current Ubuntu 24.04 LTS AMI, by architecture. */
export function ubuntuAmiParameter(architecture: InstanceArchitecture): string {
  const arch = architecture === InstanceArchitecture.ARM_64 ? "arm64" : "amd64";
  return `/aws/service/canonical/ubuntu/server/24.04/stable/current/${arch}/hvm/ebs-gp3/ami-id`;
}

/** The nodes' AMI: the operator's image if given, else the current Ubuntu 24.04 one. */
function nodeImage(architecture: InstanceArchitecture, imageId?: string): IMachineImage {
  if (!imageId) return MachineImage.fromSsmParameter(ubuntuAmiParameter(architecture));
  return { getImage: () => ({ imageId, osType: OperatingSystemType.LINUX, userData: UserData.forLinux() }) };
}

/** Props of `MediaNodeGroup`. */
export interface MediaNodeGroupProps {
  /** The group's name and ARN pattern, and the node secrets' path. */
  readonly names: FleetNames;
  /** The validated policy: the group's size and the agent's heartbeat interval. */
  readonly fleetConfig: FleetConfig;
  /** A VPC with public subnets: cameras reach the nodes on their public addresses. */
  readonly vpc: IVpc;
  /** The control plane's base URL, which the nodes' agent and callbacks call. */
  readonly apiUrl: string;
  readonly instanceType: InstanceType;
  /** Picks the Ubuntu AMI. */
  readonly architecture: InstanceArchitecture;
  /** An AMI of the operator's in place of Ubuntu's (bootstrap.sh skips the package install on it). */
  readonly nodeImageId?: string;
  /** IPv4 CIDR blocks allowed to reach RTMP port 1935. */
  readonly cameraCidrs: readonly string[];
}

/** Builds the media nodes in the fleet's scope (see lib/rtmp-fleet.ts for why not a child construct). */
export class MediaNodeGroup {
  /** The nodes' role: Session Manager, and each node's own secret. */
  public readonly role: Role;
  /** RTMP in from the camera CIDRs only; HTTPS and HTTP out. */
  public readonly securityGroup: SecurityGroup;
  public readonly launchTemplate: LaunchTemplate;
  public readonly group: AutoScalingGroup;

  constructor(
    private readonly scope: Construct,
    private readonly props: MediaNodeGroupProps,
  ) {
    this.role = this.newRole();
    this.securityGroup = this.newSecurityGroup();
    this.launchTemplate = this.newLaunchTemplate();
    this.group = this.newGroup();
    this.addWarmPool();
    this.suspendAzRebalance();
  }

  private newRole(): Role {
    const { names } = this.props;
    const role = new Role(this.scope, "NodeRole", {
      assumedBy: new ServicePrincipal("ec2.amazonaws.com"),
      description: `${names.fleetName}: media nodes (Session Manager; read their own node secret)`,
    });
    // Session Manager, and nothing of AmazonSSMManagedInstanceCore beyond it: that policy also allows
    // ssm:GetParameter(s) on every parameter, which would let any node read every node's secret. These
    // are the SSM Agent's calls for Session Manager that AWS documents: its own managed policy for a
    // Session Manager instance (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSCloud9SSMInstanceProfile.html)
    // and https://docs.aws.amazon.com/systems-manager/latest/userguide/systems-manager-setting-up-messageAPIs.html
    // (ec2messages serves Run Command, which the fleet does not use).
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [
          "ssm:UpdateInstanceInformation",
          "ssmmessages:CreateControlChannel",
          "ssmmessages:CreateDataChannel",
          "ssmmessages:OpenControlChannel",
          "ssmmessages:OpenDataChannel",
        ],
        resources: ["*"],
      }),
    );
    acknowledge(
      role,
      "AwsSolutions-IAM5[Resource::*]",
      "The SSM Agent's Session Manager calls: ssmmessages' channel actions support no resource-level permissions, " +
        "and ssm:UpdateInstanceInformation is the agent's heartbeat for its own instance; no parameter read is among them.",
    );
    // Each node reads its own secret only: the parameter is tagged with its instance's ARN when it is
    // issued, and ec2:SourceInstanceARN is the key that instance-role credentials carry. The
    // variable is written as a literal (not a CDK token).
    const secrets = `parameter${names.nodeSecretParameterPrefix}/*`;
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["ssm:GetParameter"],
        resources: [stackArn("ssm", secrets)],
        // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, resolved by IAM
        conditions: { StringEquals: { [`aws:ResourceTag/${NODE_SECRET_INSTANCE_TAG}`]: "${ec2:SourceInstanceARN}" } },
      }),
    );
    acknowledge(
      role,
      wildcardFinding("ssm", secrets),
      "Each node's secret is a parameter of its own, named by its instance id, which is not known at deploy: " +
        "the condition on the parameter's instance tag lets a node read its own parameter only.",
    );
    return role;
  }

  private newSecurityGroup(): SecurityGroup {
    const { names, vpc, cameraCidrs } = this.props;
    const securityGroup = new SecurityGroup(this.scope, "NodeSecurityGroup", {
      vpc,
      description: `${names.fleetName} media nodes: RTMP ${RTMP_PORT} from cameras; out: HTTPS and HTTP only`,
      allowAllOutbound: false,
    });
    for (const cidr of cameraCidrs) {
      securityGroup.addIngressRule(Peer.ipv4(cidr), Port.tcp(RTMP_PORT), "RTMP from cameras");
    }
    // Out: the API, SSM and Session Manager (HTTPS), Ubuntu's package mirrors (HTTP). Security
    // groups do not filter Amazon DNS, the Time Sync Service or the instance metadata service.
    securityGroup.addEgressRule(Peer.anyIpv4(), Port.tcp(443), "HTTPS: control plane API, SSM, Session Manager");
    securityGroup.addEgressRule(Peer.anyIpv4(), Port.tcp(80), "HTTP: Ubuntu package mirrors (apt verifies signatures)");
    if (cameraCidrs.some((cidr) => cidr.endsWith("/0"))) {
      acknowledge(
        securityGroup,
        "AwsSolutions-EC23",
        "Cameras publish from unknown addresses by default (cameraCidrs 0.0.0.0/0); only RTMP port 1935 is " +
          "open, and publishing needs a camera key checked by the control plane (an open CIDR without keys is " +
          "refused). Set cameraCidrs to narrow it.",
      );
    }
    return securityGroup;
  }

  private newLaunchTemplate(): LaunchTemplate {
    const { names, fleetConfig, apiUrl, instanceType, architecture, nodeImageId } = this.props;
    const launchTemplate = new LaunchTemplate(this.scope, "NodeLaunchTemplate", {
      machineImage: nodeImage(architecture, nodeImageId),
      instanceType,
      role: this.role,
      securityGroup: this.securityGroup,
      associatePublicIpAddress: true,
      detailedMonitoring: true,
      requireImdsv2: true,
      httpTokens: LaunchTemplateHttpTokens.REQUIRED,
      httpEndpoint: true,
      httpPutResponseHopLimit: 1,
      // bootstrap.sh reads the fleet's settings from the instance's tags there.
      instanceMetadataTags: true,
      blockDevices: [
        {
          deviceName: "/dev/sda1",
          volume: BlockDeviceVolume.ebs(16, {
            encrypted: true,
            volumeType: EbsDeviceVolumeType.GP3,
            deleteOnTermination: true,
          }),
        },
      ],
    });
    // CDK tags the instances and their volumes with the launch template's tags.
    const tags = mediaNodeSettingTags({
      apiUrl,
      secretParameterPrefix: names.nodeSecretParameterPrefix,
      heartbeatSeconds: fleetConfig.heartbeatSeconds,
      groupName: names.groupName,
      launchHookName: LIFECYCLE.launchHook,
    });
    for (const [key, value] of Object.entries(tags)) Tags.of(launchTemplate).add(key, value);
    // Gzip bytes, base64 as the template wants them. CDK's userData would wrap a text in Fn::Base64,
    // which cannot carry binary; the user data holds no token, so it is written as it is.
    (launchTemplate.node.defaultChild as CfnLaunchTemplate).addPropertyOverride(
      "LaunchTemplateData.UserData",
      mediaNodeUserData().toString("base64"),
    );
    return launchTemplate;
  }

  private newGroup(): AutoScalingGroup {
    const { names, fleetConfig, vpc } = this.props;
    const group = new AutoScalingGroup(this.scope, "MediaNodes", {
      autoScalingGroupName: names.groupName,
      vpc,
      vpcSubnets: { subnetType: SubnetType.PUBLIC },
      launchTemplate: this.launchTemplate,
      minCapacity: fleetConfig.minNodes,
      maxCapacity: fleetConfig.maxNodes,
      // No desiredCapacity: the scaler owns it, and a template value would reset it on every deploy.
      newInstancesProtectedFromScaleIn: true,
      // If the group ever picks an instance itself, the newest first, as the scaler does.
      terminationPolicies: [TerminationPolicy.NEWEST_INSTANCE],
      groupMetrics: [GroupMetrics.all()],
    });
    // Hooks inline in the group, not as separate resources: the nodes launched when the group is
    // created go through the launch hook too (the lifecycle Lambda issues their secrets).
    (group.node.defaultChild as CfnAutoScalingGroup).lifecycleHookSpecificationList = [
      {
        lifecycleHookName: LIFECYCLE.launchHook,
        lifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
        heartbeatTimeout: LAUNCH_HOOK_TIMEOUT_SECONDS,
        // A node that never reports ready is terminated, and the scaler launches another.
        defaultResult: "ABANDON",
      },
      {
        lifecycleHookName: LIFECYCLE.terminateHook,
        lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
        heartbeatTimeout: TERMINATE_HOOK_TIMEOUT_SECONDS,
        defaultResult: "CONTINUE",
      },
    ];
    acknowledge(
      group,
      "AwsSolutions-AS3",
      "Every launch and termination goes through a lifecycle hook whose EventBridge event the lifecycle Lambda " +
        "records as a fleet event (GET /events); scale actions are on the dashboard and failures raise alarms.",
    );
    return group;
  }

  /**
   * The warm pool (docs/ARCHITECTURE.md D17): `warmPoolSize` instances launched ahead, prepared
   * (packages installed, nothing registered) and stopped; a scale-out starts them before it
   * launches new ones. Its size is fixed (MinSize equal to MaxGroupPreparedCapacity), whatever the
   * group's. A node leaving the group is terminated, never returned to the pool: it would come back
   * with its old registration DEAD, its secret withdrawn and its units enabled.
   * A node in the pool completes its own launch action once prepared, for its instance only: the
   * one Auto Scaling call a node may make, on this group.
   */
  private addWarmPool(): void {
    const { names, fleetConfig } = this.props;
    if (fleetConfig.warmPoolSize === 0) return;
    this.group.addWarmPool({
      minSize: fleetConfig.warmPoolSize,
      maxGroupPreparedCapacity: fleetConfig.warmPoolSize,
      poolState: PoolState.STOPPED,
      reuseOnScaleIn: false,
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["autoscaling:CompleteLifecycleAction"], resources: [names.groupArn] }),
    );
    acknowledge(
      this.role,
      names.groupArnFinding,
      "A node in the warm pool completes its own launch action on this fleet's group only, by its fixed name; " +
        "the '*' is the group's id, unknown before creation.",
    );
  }

  /**
   * AZRebalance would launch and terminate instances on its own to even out the zones; the fleet
   * fills nodes in order and never cuts a stream, so the group must not move nodes around.
   * CloudFormation has no property for suspended processes: one SDK call at deploy time.
   */
  private suspendAzRebalance(): void {
    const { names } = this.props;
    const logGroup = new LogGroup(this.scope, "SuspendAzRebalanceLogs", {
      retention: RetentionDays.ONE_WEEK,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(this.scope, "SuspendAzRebalanceRole", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `${names.fleetName}: suspends AZRebalance on the media-node group at deploy time`,
    });
    logGroup.grantWrite(role);
    const suspend = new AwsCustomResource(this.scope, "SuspendAzRebalance", {
      resourceType: "Custom::SuspendAzRebalance",
      onUpdate: {
        service: "AutoScaling",
        action: "SuspendProcesses",
        parameters: { AutoScalingGroupName: names.groupName, ScalingProcesses: ["AZRebalance"] },
        physicalResourceId: PhysicalResourceId.of(`${names.groupName}/AZRebalance`),
      },
      policy: AwsCustomResourcePolicy.fromStatements([
        new PolicyStatement({ actions: ["autoscaling:SuspendProcesses"], resources: [names.groupArn] }),
      ]),
      role,
      logGroup,
      installLatestAwsSdk: false,
    });
    suspend.node.addDependency(this.group);
    acknowledge(
      suspend,
      names.groupArnFinding,
      "SuspendProcesses on this fleet's group only, by its fixed name; the '*' is the group's id, unknown before creation.",
    );
  }
}
