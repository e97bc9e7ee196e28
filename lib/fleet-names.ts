/**
 * The names and ARNs the fleet's parts share, fixed by the fleet's name before any resource
 * exists: the Lambdas' grants, the lifecycle rule and the dashboard name the media-node group by
 * its name, because the group is created last (it needs the API and the Lambdas first).
 */
import { ArnFormat, Aws, Fn, Stack } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import { wildcardFinding } from "./nag";

/** What `fleetNames` derives from the fleet's name. */
export interface FleetNames {
  /** The fleet's name: the metrics' `service`, the prefix of resource names. */
  readonly fleetName: string;
  /** The media-node group's name, `<fleetName>-media-nodes`. */
  readonly groupName: string;
  /** The ARN pattern that scopes Auto Scaling permissions to the group. */
  readonly groupArn: string;
  /** The cdk-nag finding a policy on `groupArn` raises (its '*' is the group's id). */
  readonly groupArnFinding: string;
  /** SSM path under which the lifecycle Lambda writes each node's secret (`<prefix>/<instance id>`). */
  readonly nodeSecretParameterPrefix: string;
}

/** The shared names of the fleet called `fleetName`, in the stack of `scope`. */
export function fleetNames(scope: IConstruct, fleetName: string): FleetNames {
  const groupName = `${fleetName}-media-nodes`;
  // The group's id (a UUID) is only known once it exists; its name is fixed and unique.
  const groupResourceName = `*:autoScalingGroupName/${groupName}`;
  return {
    fleetName,
    groupName,
    groupArn: Stack.of(scope).formatArn({
      service: "autoscaling",
      resource: "autoScalingGroup",
      resourceName: groupResourceName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    }),
    groupArnFinding: wildcardFinding("autoscaling", `autoScalingGroup:${groupResourceName}`),
    nodeSecretParameterPrefix: `/rtmp-fleet/${fleetName}/node-secrets`,
  };
}

/** An ARN in this stack's partition, region and account, with pseudo parameters (no lookup). */
export function stackArn(service: string, resource: string): string {
  // Fn.join keeps `${ec2:InstanceID}` a plain string: CDK would read `${Token[...]}` only.
  return Fn.join("", ["arn:", Aws.PARTITION, `:${service}:`, Aws.REGION, ":", Aws.ACCOUNT_ID, `:${resource}`]);
}
