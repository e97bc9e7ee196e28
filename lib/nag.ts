/**
 * cdk-nag acknowledgements, spelled once: every finding the fleet accepts is acknowledged on the
 * construct it concerns, with the reason, so an unacknowledged one fails synth and the tests.
 */
import { Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/** Acknowledges a cdk-nag finding on a construct and its children, with the reason. */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * The id of cdk-nag's IAM5 finding on a policy resource with a wildcard, as cdk-nag spells it:
 * the resource's ARN with the pseudo parameters as `<AWS::...>`.
 */
export function wildcardFinding(service: string, resource: string): string {
  return `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:${service}:<AWS::Region>:<AWS::AccountId>:${resource}]`;
}
