/**
 * `cdk destroy` that completes: a custom resource whose delete runs before CloudFormation deletes
 * the media-node group (it depends on the group and on the scaler, and CloudFormation deletes in
 * reverse dependency order). It stops the scaler and empties the group despite scale-in protection
 * (lib/fleet-teardown-handler.ts); CloudFormation's own delete of the group then completes.
 */
import path from "node:path";
import { CustomResource, Duration } from "aws-cdk-lib";
import type { AutoScalingGroup } from "aws-cdk-lib/aws-autoscaling";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { FleetFunction } from "./fleet-function";
import type { FleetNames } from "./fleet-names";
import { acknowledge } from "./nag";

/**
 * The custom resource's properties, as its Lambda reads them. Declared here, not in the handler: the
 * library's compiled code (construct/) then holds no Lambda code, which it ships only bundled.
 */
export interface TeardownProperties {
  readonly GroupName: string;
  readonly ScalerFunctionName: string;
}

/** Props of `FleetTeardown`. */
export interface FleetTeardownProps {
  /** The group to empty, by name and ARN pattern. */
  readonly names: FleetNames;
  /** The group itself: deleted only once the teardown has run. */
  readonly group: AutoScalingGroup;
  /** The scaler, stopped first. */
  readonly scaler: IFunction;
  /** Retention of the teardown Lambda's log group. */
  readonly logRetention: RetentionDays;
}

/** Builds the teardown in the fleet's scope (see lib/rtmp-fleet.ts for why not a child construct). */
export class FleetTeardown {
  /** The custom resource: its delete empties the group. */
  public readonly resource: CustomResource;
  /** Its Lambda. */
  public readonly function: FleetFunction;

  constructor(scope: Construct, props: FleetTeardownProps) {
    const { names, group, scaler } = props;
    this.function = new FleetFunction(scope, "Teardown", {
      entry: { name: "teardown", file: path.join(__dirname, "fleet-teardown-handler.ts") },
      description: "On stack delete: stops the scaler and empties the media-node group despite scale-in protection",
      timeout: Duration.minutes(2),
      environment: {},
      logRetention: props.logRetention,
    });
    const role = this.function.role;
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["lambda:PutFunctionConcurrency"], resources: [scaler.functionArn] }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ["autoscaling:SetInstanceProtection", "autoscaling:UpdateAutoScalingGroup"],
        resources: [names.groupArn],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["autoscaling:DescribeAutoScalingGroups"], resources: ["*"] }),
    );
    acknowledge(
      role,
      names.groupArnFinding,
      "Scoped to this fleet's group by its fixed name; the '*' stands for the group's id, a UUID that only exists " +
        "once the group is created.",
    );
    acknowledge(
      role,
      "AwsSolutions-IAM5[Resource::*]",
      "autoscaling:DescribeAutoScalingGroups supports no resource-level permissions (IAM requires Resource '*'); " +
        "it is read-only and the teardown asks for its own group only.",
    );
    const properties: TeardownProperties = { GroupName: names.groupName, ScalerFunctionName: scaler.functionName };
    // Its logical id is pinned by test/infra/logical-ids.test.ts: a resource that leaves the stack
    // is deleted, and this one's delete empties the group, so it must never move or go in an update.
    this.resource = new CustomResource(scope, "TeardownOnDelete", {
      resourceType: "Custom::FleetTeardown",
      serviceToken: this.function.function.functionArn,
      properties: { ...properties },
      serviceTimeout: Duration.minutes(5),
    });
    // Deleted before the group: CloudFormation deletes a resource's dependents first.
    this.resource.node.addDependency(group);
  }
}
