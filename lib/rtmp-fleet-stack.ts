/**
 * The app's stack: one `RtmpFleet` configured from the validated settings, and the outputs an
 * operator needs (where cameras resolve, how to publish, where the dashboard and secrets are).
 * No value here needs a lookup: an existing VPC is given by ids, the AMI is resolved at deploy time.
 */
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from "aws-cdk-lib";
import { InstanceArchitecture, InstanceType, type IVpc, Vpc } from "aws-cdk-lib/aws-ec2";
import type { Construct } from "constructs";
import { ingestBaseUrl } from "../lambdas/core/ingest";
import type { AppSettings, ExistingVpcSettings, NodeArchitecture, TableRemoval } from "./app-settings";
import { RTMP_FLEET_DEFAULTS, RtmpFleet } from "./rtmp-fleet";

/** Props of `RtmpFleetStack`. */
export interface RtmpFleetStackProps extends StackProps {
  /** The validated settings (see `readAppSettings`). */
  readonly settings: AppSettings;
}

const ARCHITECTURES: Readonly<Record<NodeArchitecture, InstanceArchitecture>> = {
  x86_64: InstanceArchitecture.X86_64,
  arm64: InstanceArchitecture.ARM_64,
};

const REMOVAL_POLICIES: Readonly<Record<TableRemoval, RemovalPolicy>> = {
  retain: RemovalPolicy.RETAIN,
  destroy: RemovalPolicy.DESTROY,
};

/** The stream name the outputs' examples publish. */
const EXAMPLE_STREAM = "cam42";

/** One stack, one fleet. */
export class RtmpFleetStack extends Stack {
  public readonly fleet: RtmpFleet;

  constructor(scope: Construct, id: string, props: RtmpFleetStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const fleet = new RtmpFleet(this, "Fleet", {
      fleetConfig: settings.fleet,
      instanceType: settings.instanceType === undefined ? undefined : new InstanceType(settings.instanceType),
      instanceArchitecture: settings.instanceArchitecture && ARCHITECTURES[settings.instanceArchitecture],
      nodeImageId: settings.nodeImageId,
      cameraCidrs: settings.cameraCidrs,
      vpc: settings.existingVpc && this.existingVpc(settings.existingVpc),
      logRetention: settings.logRetentionDays,
      tableRemovalPolicy: settings.tableRemovalPolicy && REMOVAL_POLICIES[settings.tableRemovalPolicy],
      apiThrottle: {
        rateLimit: settings.apiRateLimit ?? RTMP_FLEET_DEFAULTS.apiRateLimit,
        burstLimit: settings.apiBurstLimit ?? RTMP_FLEET_DEFAULTS.apiBurstLimit,
      },
      nodeApiThrottle: {
        rateLimit: settings.nodeApiRateLimit ?? RTMP_FLEET_DEFAULTS.nodeApiRateLimit,
        burstLimit: settings.nodeApiBurstLimit ?? RTMP_FLEET_DEFAULTS.nodeApiBurstLimit,
      },
      reservedConcurrency: settings.reservedConcurrency,
      alarmEmail: settings.alarmEmail,
      requireCameraKeys: settings.requireCameraKeys,
      viewerAccess: settings.viewerAccess,
      fixedIngest: settings.fixedIngest,
      ingestCertificateArn: settings.ingestCertificateArn,
      ingestDomainName: settings.ingestDomainName,
    });
    this.fleet = fleet;

    const keyParam = fleet.cameraMasterSecret ? "&key=$KEY" : "";
    const resolveUrl = `${fleet.apiUrl}/resolve`;
    new CfnOutput(this, "ApiUrl", { value: fleet.apiUrl, description: "The control plane's HTTPS API" });
    new CfnOutput(this, "ResolveUrl", {
      value: resolveUrl,
      description: `Cameras ask here where to publish: GET ?stream=NAME${fleet.cameraMasterSecret ? "&key=KEY" : ""}`,
    });
    new CfnOutput(this, "PublishExample", {
      value:
        `ffmpeg -re -f lavfi -i testsrc=size=1280x720:rate=30 -c:v libx264 -preset veryfast -tune zerolatency ` +
        `-f flv "$(curl -sf -H 'Accept: text/plain' "${resolveUrl}?stream=${EXAMPLE_STREAM}${keyParam}")"`,
      description: "A test camera with ffmpeg (set KEY to the camera's key: npm run camera-key)",
    });
    const ingest = fleet.fixedIngest;
    if (ingest) {
      const { host } = ingest;
      new CfnOutput(this, "IngestUrl", {
        value: ingestBaseUrl({ host, tls: false }),
        description:
          "The fixed ingest address: a camera that cannot resolve first publishes to <IngestUrl>/NAME?key=KEY",
      });
      if (ingest.tls) {
        new CfnOutput(this, "IngestRtmpsUrl", {
          value: ingestBaseUrl({ host, tls: true }),
          description: "The fixed ingest address over RTMPS (point a DNS name of your certificate at it)",
        });
      }
    }
    new CfnOutput(this, "DashboardName", { value: fleet.dashboard.dashboardName, description: "CloudWatch dashboard" });
    if (fleet.cameraMasterSecret) {
      new CfnOutput(this, "CameraMasterSecretArn", {
        value: fleet.cameraMasterSecret.secretArn,
        description: "Secrets Manager secret from which camera keys are derived (npm run camera-key)",
      });
    }
    if (fleet.viewerMasterSecret) {
      new CfnOutput(this, "PlayUrl", {
        value: `${fleet.apiUrl}/play`,
        description: "Viewers ask here where to play: GET ?stream=NAME&key=VIEWER_KEY",
      });
      new CfnOutput(this, "ViewerMasterSecretArn", {
        value: fleet.viewerMasterSecret.secretArn,
        description: "Secrets Manager secret from which viewer keys are derived (npm run viewer-key)",
      });
    }
    new CfnOutput(this, "OperatorTokenSecretArn", {
      value: fleet.operatorTokenSecret.secretArn,
      description: "Secrets Manager secret holding the bearer token of GET /nodes, /streams and /events",
    });
    new CfnOutput(this, "MediaNodeGroupName", {
      value: fleet.groupName,
      description: "The media-node Auto Scaling group",
    });
    new CfnOutput(this, "NodeSecretParameterPrefix", {
      value: fleet.nodeSecretParameterPrefix,
      description: "SSM path of the per-node secrets (one SecureString per instance, removed at termination)",
    });
    new CfnOutput(this, "RegistryTableName", { value: fleet.table.tableName, description: "The registry table" });
    new CfnOutput(this, "AlarmTopicArn", { value: fleet.alarmTopic.topicArn, description: "SNS topic of the alarms" });
  }

  /** The existing VPC from its ids: no lookup, so synth needs no AWS account. */
  private existingVpc(settings: ExistingVpcSettings): IVpc {
    return Vpc.fromVpcAttributes(this, "ExistingVpc", {
      vpcId: settings.vpcId,
      availabilityZones: [...settings.availabilityZones],
      publicSubnetIds: [...settings.publicSubnetIds],
    });
  }
}
