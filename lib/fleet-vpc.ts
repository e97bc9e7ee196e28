/**
 * The VPC the fleet creates when it is given none: public subnets in 2 zones, no NAT gateway, and
 * flow logs of all traffic to CloudWatch Logs.
 */
import { RemovalPolicy } from "aws-cdk-lib";
import { FlowLogDestination, FlowLogTrafficType, SubnetType, Vpc } from "aws-cdk-lib/aws-ec2";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";

/** Props of `FleetVpc`. */
export interface FleetVpcProps {
  /** Retention of the flow logs. */
  readonly logRetention: RetentionDays;
}

/** Builds the fleet's own VPC in the fleet's scope (see lib/rtmp-fleet.ts for why not a child construct). */
export class FleetVpc {
  public readonly vpc: Vpc;

  constructor(scope: Construct, props: FleetVpcProps) {
    const flowLogs = new LogGroup(scope, "FlowLogs", {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Public subnets only: the nodes need public addresses for the cameras, and reach AWS APIs
    // through the internet gateway, so no NAT gateway (and its hourly cost) is needed.
    this.vpc = new Vpc(scope, "Vpc", {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [
        { name: "Public", subnetType: SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
      ],
      flowLogs: {
        All: {
          destination: FlowLogDestination.toCloudWatchLogs(flowLogs),
          trafficType: FlowLogTrafficType.ALL,
        },
      },
    });
  }
}
