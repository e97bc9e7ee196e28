/**
 * The registry table: nodes, their streams and reservations (keys from lambdas/contract.ts). It is
 * the fleet's one stateful resource, kept with point-in-time recovery. Two sparse indexes list its
 * node items (D16 in docs/ARCHITECTURE.md): the nodes with room, whole, in fill order; and every
 * node's key, for the scaler's read of the whole fleet.
 */
import { RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, BillingMode, ProjectionType, Table } from "aws-cdk-lib/aws-dynamodb";
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
    // Whole items: resolve and publish decide on them without a second read.
    this.addIndex(REGISTRY_TABLE.roomIndex, ProjectionType.ALL);
    // Keys only: the index is written when a node comes or goes, not at every change of its slots.
    this.addIndex(REGISTRY_TABLE.fleetIndex, ProjectionType.KEYS_ONLY);
  }

  private addIndex(index: { name: string; partitionKey: string; sortKey: string }, projectionType: ProjectionType) {
    this.table.addGlobalSecondaryIndex({
      indexName: index.name,
      partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
      sortKey: { name: index.sortKey, type: AttributeType.STRING },
      projectionType,
    });
  }
}
