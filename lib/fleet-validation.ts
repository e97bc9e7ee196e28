/**
 * The checks of the fleet's props, in one place: the construct runs them all before it builds a
 * resource, and the app's settings (lib/app-settings.ts) use the same value checks on the context.
 */
import { RemovalPolicy } from "aws-cdk-lib";
import type { ThrottleSettings } from "aws-cdk-lib/aws-apigatewayv2";
import type { IVpc } from "aws-cdk-lib/aws-ec2";
import type { IConstruct } from "constructs";
import { isIpv4Cidr } from "../lambdas/core/cidrs";
import { ConfigError } from "../lambdas/core/config";

/** Checks a fleet name: a letter, then up to 99 letters, digits or '-' (it prefixes resource names). */
export function isFleetName(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9-]{0,99}$/.test(value);
}

/** Checks the rough shape of an email address (SNS sends the real confirmation). */
export function isEmailAddress(value: string): boolean {
  return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value);
}

/** Checks an AMI id: `ami-` and 8 or 17 hexadecimal digits. */
export function isImageId(value: string): boolean {
  return /^ami-[0-9a-f]{8}(?:[0-9a-f]{9})?$/.test(value);
}

/** The props `validateFleetProps` checks, with their defaults applied (`fleetConfig` checks itself). */
export interface FleetPropsToValidate {
  readonly fleetName: string;
  readonly cameraCidrs: readonly string[];
  readonly tableRemovalPolicy: RemovalPolicy;
  readonly apiThrottle: ThrottleSettings;
  readonly nodeApiThrottle: ThrottleSettings;
  readonly reservedConcurrency: number;
  readonly requireCameraKeys: boolean;
  readonly fixedIngest: boolean;
  readonly ingestCertificateArn?: string;
  readonly ingestDomainName?: string;
  readonly alarmEmail?: string;
  readonly vpc?: IVpc;
  readonly nodeImageId?: string;
}

/**
 * Checks the fleet's props together, so that one error names every problem.
 * @throws ConfigError naming each problem and the fleet's construct path
 */
export function validateFleetProps(fleet: IConstruct, props: FleetPropsToValidate): void {
  const problems: string[] = [];
  if (!isFleetName(props.fleetName)) {
    problems.push(`fleetName must be a letter, then up to 99 letters, digits or '-', got ${props.fleetName}`);
  }
  const { cameraCidrs, tableRemovalPolicy } = props;
  if (cameraCidrs.length === 0) problems.push("cameraCidrs must list at least one CIDR block");
  const badCidrs = cameraCidrs.filter((cidr) => !isIpv4Cidr(cidr));
  if (badCidrs.length > 0) problems.push(`cameraCidrs must be IPv4 CIDR blocks with host bits zero, got ${badCidrs}`);
  if (tableRemovalPolicy !== RemovalPolicy.RETAIN && tableRemovalPolicy !== RemovalPolicy.DESTROY) {
    problems.push(
      `tableRemovalPolicy must be RETAIN or DESTROY (DynamoDB has no snapshot policy), got ${tableRemovalPolicy}`,
    );
  }
  for (const [name, { rateLimit, burstLimit }] of [
    ["apiThrottle", props.apiThrottle],
    ["nodeApiThrottle", props.nodeApiThrottle],
  ] as const) {
    if (rateLimit === undefined || !(rateLimit > 0))
      problems.push(`${name}.rateLimit must be above 0, got ${rateLimit}`);
    if (burstLimit === undefined || !Number.isInteger(burstLimit) || burstLimit < 1) {
      problems.push(`${name}.burstLimit must be a whole number of at least 1, got ${burstLimit}`);
    }
  }
  for (const name of ["ingestCertificateArn", "ingestDomainName"] as const) {
    if (props[name] !== undefined && !props.fixedIngest)
      problems.push(`${name} needs fixedIngest: it is the fixed ingest address's`);
  }
  const { reservedConcurrency } = props;
  if (!Number.isInteger(reservedConcurrency) || reservedConcurrency < 0) {
    problems.push(`reservedConcurrency must be a whole number, 0 (off) or more, got ${reservedConcurrency}`);
  }
  if (props.alarmEmail !== undefined && !isEmailAddress(props.alarmEmail)) {
    problems.push(`alarmEmail must be an email address, got ${props.alarmEmail}`);
  }
  if (props.nodeImageId !== undefined && !isImageId(props.nodeImageId)) {
    problems.push(`nodeImageId must be an AMI id such as ami-0123456789abcdef0, got ${props.nodeImageId}`);
  }
  if (!props.requireCameraKeys && cameraCidrs.some((cidr) => cidr.endsWith("/0"))) {
    problems.push(
      "requireCameraKeys false needs cameraCidrs narrower than /0: without keys, anyone who reaches port 1935 may publish",
    );
  }
  if (props.vpc && props.vpc.publicSubnets.length === 0) {
    problems.push("vpc must have public subnets: cameras reach the nodes on their public addresses");
  }
  // A ConfigError, like a bad context value: the app prints its message without a stack trace.
  if (problems.length > 0) throw new ConfigError(`RtmpFleet props (${fleet.node.path})`, problems);
}
