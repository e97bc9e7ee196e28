/** Creates registry tables in moto, shaped as the CDK construct shapes the real one. */
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoRegistry } from "../../lambdas/adapters/dynamo-registry";
import { REGISTRY_TABLE } from "../../lambdas/contract";

let counter = 0;

/** A fresh, uniquely named registry table in moto (AWS_ENDPOINT_URL) and a registry over it. */
export async function freshDynamoRegistry(
  prefix = "registry",
): Promise<{ registry: DynamoRegistry; tableName: string }> {
  const tableName = `${prefix}-${process.pid}-${Date.now()}-${counter++}`;
  // As many connections as concurrent Lambdas would open: the burst tests send 200 requests at once.
  const client = new DynamoDBClient({ requestHandler: { httpAgent: { maxSockets: 256 } } });
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [
        REGISTRY_TABLE.partitionKey,
        REGISTRY_TABLE.sortKey,
        REGISTRY_TABLE.fillOrderAttribute,
        REGISTRY_TABLE.roomIndex.partitionKey,
        REGISTRY_TABLE.fleetIndex.partitionKey,
      ].map((name) => ({ AttributeName: name, AttributeType: "S" as const })),
      KeySchema: [
        { AttributeName: REGISTRY_TABLE.partitionKey, KeyType: "HASH" },
        { AttributeName: REGISTRY_TABLE.sortKey, KeyType: "RANGE" },
      ],
      GlobalSecondaryIndexes: [
        { ...REGISTRY_TABLE.roomIndex, projection: "ALL" as const },
        { ...REGISTRY_TABLE.fleetIndex, projection: "KEYS_ONLY" as const },
      ].map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: "HASH" as const },
          { AttributeName: index.sortKey, KeyType: "RANGE" as const },
        ],
        Projection: { ProjectionType: index.projection },
      })),
    }),
  );
  return { registry: new DynamoRegistry(client, tableName), tableName };
}
