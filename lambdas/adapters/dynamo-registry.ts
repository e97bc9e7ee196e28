/**
 * DynamoDB registry. One table, partition key `pk` and sort key `sk`; every node is an item under
 * `pk = "NODE"`, `sk = nodeId`, with its stream slots in a map attribute, so listing the fleet is
 * one Query and every `NodeChange` is one conditional UpdateItem (no transaction, hence no
 * TransactionConflict when a burst of resolves hits the node that is filling).
 */
import { ConditionalCheckFailedException, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { REGISTRY_TABLE } from "../contract";
import type { FleetEvent, MediaNode, NodeState } from "../core/model";
import {
  type ChangeOutcome,
  EVENT_RETENTION_MS,
  type NodeChange,
  type NodeCondition,
  type Registry,
} from "../core/registry";

const { node: NODE_PARTITION, lease: LEASE_PARTITION, event: EVENT_PARTITION } = REGISTRY_TABLE.partitions;
const TTL = REGISTRY_TABLE.ttlAttribute;

/** A document client that drops undefined fields, as the registry's records have optional ones. */
export function documentClient(client = new DynamoDBClient({})): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** Builds an expression's placeholders: `#n0`, `:v0`, ... */
class Expression {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};
  private counter = 0;

  /** A placeholder for an attribute name (one per distinct name). */
  name(attribute: string): string {
    for (const [key, value] of Object.entries(this.names)) if (value === attribute) return key;
    const key = `#n${this.counter++}`;
    this.names[key] = attribute;
    return key;
  }

  /** A document path of placeholders: `path("streams", name)` gives `#n0.#n1`. */
  path(...parts: string[]): string {
    return parts.map((part) => this.name(part)).join(".");
  }

  /** A placeholder for a value. */
  value(value: unknown): string {
    const key = `:v${this.counter++}`;
    this.values[key] = value;
    return key;
  }
}

/** The ConditionExpression of a `NodeCondition`, same semantics as `conditionHolds`. */
function conditionExpression(when: NodeCondition, x: Expression): string {
  const terms = [`attribute_exists(${x.name("pk")})`];
  if (when.states) terms.push(`${x.name("state")} IN (${when.states.map((s) => x.value(s)).join(", ")})`);
  if (when.cpuAt === null) terms.push(`attribute_not_exists(${x.name("cpu")})`);
  else if (when.cpuAt !== undefined) terms.push(`${x.path("cpu", "at")} = ${x.value(when.cpuAt)}`);
  if (when.heartbeatAt === null) terms.push(`attribute_not_exists(${x.name("lastHeartbeatAt")})`);
  else if (when.heartbeatAt !== undefined) {
    terms.push(`${x.name("lastHeartbeatAt")} = ${x.value(when.heartbeatAt)}`);
  }
  if (when.slotsBelow !== undefined) terms.push(`size(${x.name("streams")}) < ${x.value(when.slotsBelow)}`);
  if (when.slotsEqual !== undefined) terms.push(`size(${x.name("streams")}) = ${x.value(when.slotsEqual)}`);
  for (const [stream, expected] of Object.entries(when.streams ?? {})) {
    const slot = x.path("streams", stream);
    if (expected.absent) {
      terms.push(`attribute_not_exists(${slot})`);
      continue;
    }
    terms.push(`${slot}.${x.name("state")} = ${x.value(expected.state)}`);
    if (expected.expiresAt !== undefined) {
      terms.push(`${slot}.${x.name("expiresAt")} = ${x.value(expected.expiresAt)}`);
    }
    if (expected.clientId !== undefined) {
      terms.push(`${slot}.${x.name("clientId")} = ${x.value(expected.clientId)}`);
    }
  }
  for (const key of when.endedAbsent ?? []) terms.push(`attribute_not_exists(${x.path("ended", key)})`);
  return terms.join(" AND ");
}

/** The UpdateExpression of a change's edits. */
function updateExpression(change: NodeChange, x: Expression): string {
  const sets: string[] = [];
  const removes: string[] = [];
  for (const [field, value] of Object.entries(change.set ?? {})) {
    if (value !== undefined) sets.push(`${x.name(field)} = ${x.value(value)}`);
  }
  for (const [stream, slot] of Object.entries(change.putStreams ?? {})) {
    sets.push(`${x.path("streams", stream)} = ${x.value(slot)}`);
  }
  for (const [key, at] of Object.entries(change.putEnded ?? {})) sets.push(`${x.path("ended", key)} = ${x.value(at)}`);
  for (const stream of change.removeStreams ?? []) removes.push(x.path("streams", stream));
  for (const key of change.removeEnded ?? []) removes.push(x.path("ended", key));
  if (sets.length === 0 && removes.length === 0) throw new Error(`node change for ${change.nodeId} changes nothing`);
  return [sets.length ? `SET ${sets.join(", ")}` : "", removes.length ? `REMOVE ${removes.join(", ")}` : ""]
    .filter(Boolean)
    .join(" ");
}

/** A node item without its keys. */
function toNode(item: Record<string, unknown>): MediaNode {
  const { pk: _pk, sk: _sk, ...node } = item;
  return node as unknown as MediaNode;
}

/** True when the error is a failed condition (the write did not happen). */
function conditionFailed(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException;
}

/** The registry in a DynamoDB table (see the CDK `Registry` construct for its schema). */
export class DynamoRegistry implements Registry {
  /**
   * @param client a document client; create it once per process with `removeUndefinedValues: true`
   * @param tableName the registry table
   */
  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async listNodes(options: { consistent?: boolean } = {}): Promise<MediaNode[]> {
    const nodes: MediaNode[] = [];
    let startKey: QueryCommandOutput["LastEvaluatedKey"];
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": NODE_PARTITION },
          ConsistentRead: options.consistent ?? false,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) nodes.push(toNode(item));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return nodes;
  }

  async getNode(nodeId: string): Promise<MediaNode | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: NODE_PARTITION, sk: nodeId }, ConsistentRead: true }),
    );
    return Item && toNode(Item);
  }

  async createNode(node: MediaNode): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: NODE_PARTITION, sk: node.nodeId, ...node },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async applyChange(change: NodeChange): Promise<ChangeOutcome> {
    const x = new Expression();
    const condition = conditionExpression(change.when, x);
    const update = updateExpression(change, x);
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: NODE_PARTITION, sk: change.nodeId },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: x.names,
          ExpressionAttributeValues: Object.keys(x.values).length ? x.values : undefined,
          ReturnValues: "ALL_NEW",
          // A lost race comes back with the node as it is now: no second read to decide again.
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { applied: true, node: toNode(result.Attributes ?? {}) };
    } catch (error) {
      if (!conditionFailed(error)) throw error;
      const item = (error as ConditionalCheckFailedException).Item;
      return item ? { applied: false, node: toNode(unmarshall(item)) } : { applied: false };
    }
  }

  async deleteNode(nodeId: string, states: readonly NodeState[]): Promise<boolean> {
    const x = new Expression();
    const condition = `attribute_exists(${x.name("pk")}) AND ${x.name("state")} IN (${states.map((s) => x.value(s)).join(", ")})`;
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: NODE_PARTITION, sk: nodeId },
          ConditionExpression: condition,
          ExpressionAttributeNames: x.names,
          ExpressionAttributeValues: x.values,
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async acquireLease(name: string, owner: string, now: number, ttlMs: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: LEASE_PARTITION,
            sk: name,
            owner,
            until: now + ttlMs,
            [TTL]: Math.ceil((now + ttlMs) / 1000) + 3600,
          },
          ConditionExpression: "attribute_not_exists(pk) OR #until <= :now OR #owner = :owner",
          ExpressionAttributeNames: { "#until": "until", "#owner": "owner" },
          ExpressionAttributeValues: { ":now": now, ":owner": owner },
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }

  async releaseLease(name: string, owner: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: LEASE_PARTITION, sk: name },
          ConditionExpression: "#owner = :owner",
          ExpressionAttributeNames: { "#owner": "owner" },
          ExpressionAttributeValues: { ":owner": owner },
        }),
      );
    } catch (error) {
      if (!conditionFailed(error)) throw error;
    }
  }

  async appendEvents(events: readonly FleetEvent[]): Promise<void> {
    // Few events a tick: one conditional-free put each keeps this simple (BatchWrite needs retries of its own).
    for (const event of events) {
      const suffix = Math.random().toString(36).slice(2, 8);
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: EVENT_PARTITION,
            sk: `${String(event.at).padStart(15, "0")}#${suffix}`,
            ...event,
            [TTL]: Math.ceil((event.at + EVENT_RETENTION_MS) / 1000),
          },
        }),
      );
    }
  }

  async recentEvents(limit: number): Promise<FleetEvent[]> {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": EVENT_PARTITION },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (page.Items ?? []).map(({ pk: _pk, sk: _sk, [TTL]: _ttl, ...event }) => event as FleetEvent);
  }
}
