/**
 * The registry table: nodes, their streams and reservations (keys from lambdas/contract.ts). It is
 * the fleet's one stateful resource, kept with point-in-time recovery.
 */
import { RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, BillingMode, Table } from "aws-cdk-lib/aws-dynamodb";
import type { Construct } from "constructs";
import { REGISTRY_TABLE } from "../lambdas/contract";

/** Props of `FleetRegistry`. */
export interface FleetRegistryProps {
  /** RETAIN (with deletion protection on) or DESTROY, as validated by `validateFleetProps`. */
  readonly removalPolicy: RemovalPolicy;
}

/** Builds the registry table in the fleet's scope (see lib/rtmp-fleet.ts for why not a child construct). */
export class FleetRegistry {
  public readonly table: Table;

  constructor(scope: Construct, props: FleetRegistryProps) {
    this.table = new Table(scope, "Registry", {
      partitionKey: { name: REGISTRY_TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: REGISTRY_TABLE.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: REGISTRY_TABLE.ttlAttribute,
      removalPolicy: props.removalPolicy,
      // A retained table is also protected from deletion by hand; one meant to go with the stack is not.
      deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
    });
  }
}
