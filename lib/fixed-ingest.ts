/**
 * The fixed ingest address (docs/ARCHITECTURE.md, D18): an internet-facing Network Load Balancer
 * on RTMP port 1935 (and RTMPS on 443 when a certificate is given) whose target group holds the
 * one node placement would choose now. The control plane moves the target (lambdas/core/ingest.ts);
 * this builds what it moves and what may reach it.
 *
 * A builder over the fleet's own scope, like the fleet's other parts (lib/rtmp-fleet.ts says why).
 */
import { Duration } from "aws-cdk-lib";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { type IVpc, Peer, Port, SecurityGroup, SubnetType } from "aws-cdk-lib/aws-ec2";
import {
  ListenerCertificate,
  NetworkLoadBalancer,
  NetworkTargetGroup,
  Protocol,
  SslPolicy,
  TargetType,
} from "aws-cdk-lib/aws-elasticloadbalancingv2";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";
import { ENV, REGISTRY_TABLE, RTMP_PORT, RTMPS_PORT } from "../lambdas/contract";
import type { FleetFunctions } from "./control-plane-functions";
import { acknowledge } from "./nag";

/**
 * How long a deregistered node stays "draining" in the target group. With connection termination
 * off its established streams outlive the delay anyway; a short delay only means a node the
 * address moves back to is re-registered from a settled state.
 */
export const INGEST_DEREGISTRATION_DELAY = Duration.seconds(30);
/** Health checks: a TCP connect to 1935 every 10 s, 2 in a row to pass or fail (NLB's minimum). */
export const INGEST_HEALTH_CHECK = { interval: Duration.seconds(10), healthyThreshold: 2, unhealthyThreshold: 2 };

/** Props of `FixedIngest`. */
export interface FixedIngestProps {
  readonly fleetName: string;
  readonly vpc: IVpc;
  /** The nodes' security group: it lets the load balancer reach 1935. */
  readonly nodeSecurityGroup: SecurityGroup;
  /** Where cameras may connect from (the nodes' own rule, repeated on the load balancer). */
  readonly cameraCidrs: readonly string[];
  /** An ACM certificate for the RTMPS listener on 443; absent, no TLS listener. */
  readonly certificateArn?: string;
  /** The DNS name cameras use (the certificate's, pointed at the load balancer); absent, the load balancer's own. */
  readonly domainName?: string;
}

/** Builds the load balancer, its listeners and its target group in the fleet's scope. */
export class FixedIngest {
  public readonly loadBalancer: NetworkLoadBalancer;
  /** The group the control plane keeps at one target: the first node in fill order. */
  public readonly targetGroup: NetworkTargetGroup;
  /** Whether the RTMPS listener exists. */
  public readonly tls: boolean;
  /** The host cameras are given: `domainName`, or the load balancer's DNS name. */
  public readonly host: string;

  constructor(scope: Construct, props: FixedIngestProps) {
    const { fleetName, vpc, cameraCidrs, certificateArn } = props;
    this.tls = certificateArn !== undefined;
    const securityGroup = new SecurityGroup(scope, "IngestSecurityGroup", {
      vpc,
      description: `${fleetName} fixed ingest: RTMP ${RTMP_PORT}${this.tls ? ` and RTMPS ${RTMPS_PORT}` : ""} from cameras`,
      allowAllOutbound: false,
    });
    for (const cidr of cameraCidrs) {
      securityGroup.addIngressRule(Peer.ipv4(cidr), Port.tcp(RTMP_PORT), "RTMP from cameras");
      if (this.tls) securityGroup.addIngressRule(Peer.ipv4(cidr), Port.tcp(RTMPS_PORT), "RTMPS from cameras");
    }
    securityGroup.addEgressRule(props.nodeSecurityGroup, Port.tcp(RTMP_PORT), "RTMP and health checks to the nodes");
    props.nodeSecurityGroup.addIngressRule(
      securityGroup,
      Port.tcp(RTMP_PORT),
      "RTMP and health checks from the fixed ingest",
    );
    if (cameraCidrs.some((cidr) => cidr.endsWith("/0"))) {
      acknowledge(
        securityGroup,
        "AwsSolutions-EC23",
        "The fixed ingest address is for cameras on unknown addresses (cameraCidrs 0.0.0.0/0); only RTMP (and " +
          "RTMPS) is open, and on_publish admits a camera only with its key. Set cameraCidrs to narrow it.",
      );
    }

    this.loadBalancer = new NetworkLoadBalancer(scope, "IngestLoadBalancer", {
      vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: SubnetType.PUBLIC },
      securityGroups: [securityGroup],
      // One target, in one zone: every zone's load balancer node must reach it.
      crossZoneEnabled: true,
    });
    acknowledge(
      this.loadBalancer,
      "AwsSolutions-ELB2",
      "Access logs of a Network Load Balancer cover TLS listeners only; every camera admitted or refused is " +
        "logged by the control plane's on_publish, with its stream and node.",
    );

    this.host = props.domainName ?? this.loadBalancer.loadBalancerDnsName;
    this.targetGroup = new NetworkTargetGroup(scope, "IngestTargets", {
      vpc,
      port: RTMP_PORT,
      protocol: Protocol.TCP,
      targetType: TargetType.INSTANCE,
      // Off: a node the address moves away from keeps its cameras until they hang up.
      connectionTermination: false,
      deregistrationDelay: INGEST_DEREGISTRATION_DELAY,
      healthCheck: {
        protocol: Protocol.TCP,
        port: String(RTMP_PORT),
        interval: INGEST_HEALTH_CHECK.interval,
        healthyThresholdCount: INGEST_HEALTH_CHECK.healthyThreshold,
        unhealthyThresholdCount: INGEST_HEALTH_CHECK.unhealthyThreshold,
      },
    });
    this.loadBalancer.addListener("IngestRtmp", {
      port: RTMP_PORT,
      protocol: Protocol.TCP,
      defaultTargetGroups: [this.targetGroup],
    });
    if (certificateArn) {
      this.loadBalancer.addListener("IngestRtmps", {
        port: RTMPS_PORT,
        protocol: Protocol.TLS,
        certificates: [ListenerCertificate.fromArn(certificateArn)],
        sslPolicy: SslPolicy.RECOMMENDED_TLS,
        defaultTargetGroups: [this.targetGroup],
      });
    }
  }
}

/**
 * The Lambdas that move the one target (lambdas/core/ingest.ts): the publish and done hooks after a
 * change that may fill or free the first node, and the scaler at every tick, as a repair. Only they
 * may register and deregister targets, and only in this target group; the done hook may then list
 * the nodes too (the others list them already). `/resolve` learns the address, to answer it
 * (rtmps:// with a certificate).
 */
export function grantIngestMoves(functions: FleetFunctions, ingest: FixedIngest, table: Table): void {
  const { targetGroupArn } = ingest.targetGroup;
  for (const fn of [functions.publish, functions.done, functions.scaler]) {
    fn.function.addEnvironment(ENV.ingestTargetGroup, targetGroupArn);
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
        resources: [targetGroupArn],
      }),
    );
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["elasticloadbalancing:DescribeTargetHealth"], resources: ["*"] }),
    );
    acknowledge(
      fn.role,
      "AwsSolutions-IAM5[Resource::*]",
      "elasticloadbalancing:DescribeTargetHealth supports no resource-level permissions; it is read-only, and " +
        "asks for the fixed ingest's own target group only.",
    );
  }
  // After a publisher's end, the done hook reads the first nodes with room (D16) to move the address.
  functions.done.role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ["dynamodb:Query"],
      resources: [`${table.tableArn}/index/${REGISTRY_TABLE.roomIndex.name}`],
    }),
  );
  functions.resolve.function.addEnvironment(ENV.ingestHost, ingest.host);
  functions.resolve.function.addEnvironment(ENV.ingestTls, String(ingest.tls));
}
