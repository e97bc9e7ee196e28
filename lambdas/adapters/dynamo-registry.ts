/**
 * DynamoDB registry. One table, partition key `pk` and sort key `sk`; every node is an item of its
 * own, `pk = "NODE#<id>"`, `sk = "NODE"`, with its stream slots in a map attribute, so a change to
 * one node alone is one conditional UpdateItem (no transaction, hence no TransactionConflict when a
 * burst of resolves hits the node that is filling). A change that also takes or releases stream
 * claims, or checks or writes tombstones, is one TransactWriteItems.
 *
 * Two sparse indexes list node items (D16 in docs/ARCHITECTURE.md). `NodesWithRoom` holds the items
 * the core marks `hasRoom` (attribute `room`), whole, sorted by `fillOrder`: resolve and publish read
 * its first few, whatever the fleet's size. `Fleet` holds every node's key: the scaler's read of the
 * whole fleet queries it, then reads the items by key.
 *
 * The adapter speaks DynamoDB's own item format (the low-level client) and converts the stream map
 * itself: the AWS SDK's marshall and unmarshall assign map keys one by one, which turns a stream
 * named `__proto__` into the map's prototype instead of one of its keys.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { nodeItemKey, REGISTRY_TABLE } from "../contract";
import type { FleetEvent, MediaNode, NodeState, StreamSlot } from "../core/model";
import {
  applyEdits,
  type ChangeOutcome,
  ChangeRefusedError,
  EVENT_RETENTION_MS,
  type NodeChange,
  type NodeCondition,
  type Registry,
  type StreamClaim,
  type ViewerRange,
  type WaitingCamera,
} from "../core/registry";

const { lease: LEASE_PARTITION, event: EVENT_PARTITION, waiting: WAITING_PARTITION } = REGISTRY_TABLE.partitions;
const { roomIndex: ROOM_INDEX, fleetIndex: FLEET_INDEX, fillOrderAttribute: FILL_ORDER } = REGISTRY_TABLE;
/** The value of a node item's `room` (and of `fleet`): one partition of its index each. */
const ROOM = "ROOM";
const FLEET = "NODE";
/** BatchGetItem takes at most this many keys. */
const BATCH_KEYS = 100;
const { claimPrefix: CLAIM_PREFIX, endedPrefix: ENDED_PREFIX } = REGISTRY_TABLE.partitions;
const TTL = REGISTRY_TABLE.ttlAttribute;
/** The sort key of a claim item: one per stream name, under its own partition key. */
const CLAIM_SORT_KEY = "CLAIM";
/** TransactWriteItems takes at most this many items. */
const TRANSACTION_ITEMS = 100;
/** How long a tombstone item is kept past the moment it stops refusing (s): DynamoDB's TTL is lazy. */
const TOMBSTONE_TTL_SLACK_SECONDS = 3600;
/**
 * Pages of `limit` items a read of the waiting cameras goes through at most: notes past their time
 * that TTL has not deleted yet are read and dropped, and they must not make one read unbounded.
 */
const WAITING_READ_PAGES = 4;

type Item = Record<string, AttributeValue>;

/** An item's key. */
function key(pk: string, sk: string): Item {
  return { pk: { S: pk }, sk: { S: sk } };
}

/** Plain values as DynamoDB attribute values (undefined fields dropped: records have optional ones). */
function toAttributes(value: Record<string, unknown>): Item {
  return marshall(value, { removeUndefinedValues: true });
}

/** A stream map as an attribute: built with `Object.fromEntries`, which keeps a key named `__proto__`. */
function streamsAttribute(streams: Readonly<Record<string, StreamSlot>>): AttributeValue {
  return {
    M: Object.fromEntries(Object.entries(streams).map(([name, slot]) => [name, { M: toAttributes({ ...slot }) }])),
  };
}

/** A node item's key. */
function nodeKey(nodeId: string): Item {
  const { pk, sk } = nodeItemKey(nodeId);
  return key(pk, sk);
}

/** A node's place in fill order as a string that sorts as `byFillOrder` does (launch time, then id). */
function fillOrder(node: MediaNode): string {
  return `${String(node.launchedAt).padStart(16, "0")}#${node.nodeId}`;
}

/** A node record as an item, with its index attributes: `hasRoom` is stored as the `room` index key. */
function nodeItem(node: MediaNode): Item {
  const { streams, hasRoom, ...fields } = node;
  return {
    ...nodeKey(node.nodeId),
    ...toAttributes(fields),
    streams: streamsAttribute(streams),
    [FILL_ORDER]: { S: fillOrder(node) },
    [FLEET_INDEX.partitionKey]: { S: FLEET },
    ...(hasRoom ? { [ROOM_INDEX.partitionKey]: { S: ROOM } } : {}),
  };
}

/** A node item as a record (its keys and index attributes dropped). */
function toNode(item: Item): MediaNode {
  const {
    pk: _pk,
    sk: _sk,
    [FILL_ORDER]: _fillOrder,
    [FLEET_INDEX.partitionKey]: _fleet,
    [ROOM_INDEX.partitionKey]: room,
    streams,
    ...fields
  } = item;
  const slots = Object.entries(streams?.M ?? {}).map(
    ([name, slot]) => [name, unmarshall(slot.M ?? {}) as StreamSlot] as const,
  );
  const node = { ...(unmarshall(fields) as Omit<MediaNode, "streams">), streams: Object.fromEntries(slots) };
  return room ? { ...node, hasRoom: true } : node;
}

/** Builds an expression's placeholders: `#n0`, `:v0`, ... */
class Expression {
  readonly names: Record<string, string> = {};
  readonly values: Item = {};
  private counter = 0;

  /** A placeholder for an attribute name (one per distinct name). */
  name(attribute: string): string {
    for (const [placeholder, value] of Object.entries(this.names)) if (value === attribute) return placeholder;
    const placeholder = `#n${this.counter++}`;
    this.names[placeholder] = attribute;
    return placeholder;
  }

  /** A document path of placeholders: `path("streams", name)` gives `#n0.#n1`. */
  path(...parts: string[]): string {
    return parts.map((part) => this.name(part)).join(".");
  }

  /** A placeholder for a value. */
  value(value: unknown): string {
    const placeholder = `:v${this.counter++}`;
    this.values[placeholder] = toAttributes({ value }).value as AttributeValue;
    return placeholder;
  }

  /** The names and values for a request (DynamoDB refuses empty maps). */
  attributes(): { ExpressionAttributeNames?: Record<string, string>; ExpressionAttributeValues?: Item } {
    return {
      ExpressionAttributeNames: Object.keys(this.names).length ? this.names : undefined,
      ExpressionAttributeValues: Object.keys(this.values).length ? this.values : undefined,
    };
  }
}

/** The ConditionExpression of a node's `NodeCondition`, same semantics as `conditionHolds`. */
function conditionExpression(when: NodeCondition, x: Expression): string {
  const terms = [`attribute_exists(${x.name("pk")})`];
  if (when.states) terms.push(`${x.name("state")} IN (${when.states.map((s) => x.value(s)).join(", ")})`);
  if (when.cpuAt === null) terms.push(`attribute_not_exists(${x.name("cpu")})`);
  else if (when.cpuAt !== undefined) terms.push(`${x.path("cpu", "at")} = ${x.value(when.cpuAt)}`);
  if (when.heartbeatAt === null) terms.push(`attribute_not_exists(${x.name("lastHeartbeatAt")})`);
  else if (when.heartbeatAt !== undefined) {
    terms.push(`${x.name("lastHeartbeatAt")} = ${x.value(when.heartbeatAt)}`);
  }
  if (when.credentialHash === null) terms.push(`attribute_not_exists(${x.name("credentialHash")})`);
  else if (when.credentialHash !== undefined) {
    terms.push(`${x.name("credentialHash")} = ${x.value(when.credentialHash)}`);
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
    if (expected.viewers) terms.push(...viewerTerms(`${slot}.${x.name("viewers")}`, expected.viewers, x));
  }
  return terms.join(" AND ");
}

/** The terms of a viewer range on a count that is absent while 0 (`viewersWithin`'s semantics). */
function viewerTerms(count: string, range: ViewerRange, x: Expression): string[] {
  const terms: string[] = [];
  if (range.atLeast !== undefined && range.atLeast > 0) terms.push(`${count} >= ${x.value(range.atLeast)}`);
  if (range.below !== undefined) {
    const below = `${count} < ${x.value(range.below)}`;
    terms.push(range.below > 0 ? `(attribute_not_exists(${count}) OR ${below})` : below);
  }
  return terms;
}

/** The UpdateExpression of a change's edits to the node's own record, or undefined when it edits nothing there. */
function updateExpression(change: NodeChange, x: Expression): string | undefined {
  const sets: string[] = [];
  const removes: string[] = [];
  const { hasRoom, ...fields } = change.set ?? {};
  for (const [field, value] of Object.entries(fields)) {
    if (value !== undefined) sets.push(`${x.name(field)} = ${x.value(value)}`);
  }
  // Listed among the nodes with room while the index key is there (a sparse index: absent, not listed).
  if (hasRoom) sets.push(`${x.name(ROOM_INDEX.partitionKey)} = ${x.value(ROOM)}`);
  else if (hasRoom === false) removes.push(x.name(ROOM_INDEX.partitionKey));
  for (const [stream, slot] of Object.entries(change.putStreams ?? {})) {
    sets.push(`${x.path("streams", stream)} = ${x.value(slot)}`);
  }
  for (const [stream, count] of Object.entries(change.viewers ?? {})) {
    const viewers = x.path("streams", stream, "viewers");
    sets.push(
      `${viewers} = if_not_exists(${viewers}, ${x.value(0)}) + ${x.value(count.by)}`,
      `${x.path("streams", stream, "viewersChangedAt")} = ${x.value(count.at)}`,
    );
  }
  for (const stream of change.removeStreams ?? []) removes.push(x.path("streams", stream));
  if (sets.length === 0 && removes.length === 0) return undefined;
  return [sets.length ? `SET ${sets.join(", ")}` : "", removes.length ? `REMOVE ${removes.join(", ")}` : ""]
    .filter(Boolean)
    .join(" ");
}

/** The items of a change besides the node's own: claims taken and released, tombstones checked and written. */
function sideItems(change: NodeChange, table: string): TransactWriteItem[] {
  const { nodeId } = change;
  const claimable = "attribute_not_exists(pk) OR nodeId = :node";
  const node = { ":node": { S: nodeId } };
  const claims: TransactWriteItem[] = Object.entries(change.claim ?? {}).map(([stream, clientId]) => ({
    Put: {
      TableName: table,
      Item: {
        ...key(CLAIM_PREFIX + stream, CLAIM_SORT_KEY),
        stream: { S: stream },
        nodeId: { S: nodeId },
        clientId: { S: clientId },
      },
      ConditionExpression: claimable,
      ExpressionAttributeValues: node,
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    },
  }));
  const releases: TransactWriteItem[] = (change.unclaim ?? []).map((stream) => ({
    Delete: {
      TableName: table,
      Key: key(CLAIM_PREFIX + stream, CLAIM_SORT_KEY),
      ConditionExpression: claimable,
      ExpressionAttributeValues: node,
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    },
  }));
  // A tombstone both checked and written is one item: the write carries the check (one operation per item).
  const notEnded = change.when.notEnded;
  const notInForce = notEnded && {
    ConditionExpression: "attribute_not_exists(pk) OR #until <= :at",
    ExpressionAttributeNames: { "#until": "until" },
    ExpressionAttributeValues: { ":at": { N: String(notEnded.at) } },
  };
  const written = change.putEnded ?? {};
  const checks: TransactWriteItem[] = (notEnded?.keys ?? [])
    .filter((connection) => !Object.hasOwn(written, connection))
    .map((connection) => ({
      ConditionCheck: { TableName: table, Key: key(ENDED_PREFIX + nodeId, connection), ...notInForce } as never,
    }));
  const tombstones: TransactWriteItem[] = Object.entries(written).map(([connection, until]) => ({
    Put: {
      TableName: table,
      Item: {
        ...key(ENDED_PREFIX + nodeId, connection),
        until: { N: String(until) },
        [TTL]: { N: String(Math.ceil(until / 1000) + TOMBSTONE_TTL_SLACK_SECONDS) },
      },
      ...(notEnded?.keys.includes(connection) ? notInForce : {}),
    },
  }));
  return [...claims, ...releases, ...checks, ...tombstones];
}

/** True when the error is a failed condition (the write did not happen). */
function conditionFailed(error: unknown): error is ConditionalCheckFailedException {
  return error instanceof ConditionalCheckFailedException;
}

/** True when DynamoDB refused the write because the item would outgrow its size limit. */
function itemTooLarge(error: unknown): boolean {
  const e = error as { name?: string; message?: string };
  return e?.name === "ValidationException" && /item size|maximum allowed size/i.test(e.message ?? "");
}

/** The registry in a DynamoDB table (see the CDK `FleetRegistry` part for its schema). */
export class DynamoRegistry implements Registry {
  /**
   * @param client a DynamoDB client, created once per process
   * @param tableName the registry table
   */
  constructor(
    private readonly client: DynamoDBClient,
    readonly tableName: string,
  ) {}

  /**
   * The fleet's keys from the `Fleet` index (keys only, so that index changes only when a node comes
   * or goes), then the items by key, `consistent` as asked. The index lags a node created a moment
   * ago; the scaler registers an instance it finds without a record, and that write is conditional.
   */
  async listNodes(options: { consistent?: boolean } = {}): Promise<MediaNode[]> {
    const keys: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.queryIndex(FLEET_INDEX, FLEET, { ExclusiveStartKey: startKey });
      for (const item of page.Items ?? []) keys.push(key(item.pk?.S ?? "", item.sk?.S ?? ""));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    const batches = [];
    for (let i = 0; i < keys.length; i += BATCH_KEYS) batches.push(keys.slice(i, i + BATCH_KEYS));
    const items = await Promise.all(batches.map((batch) => this.itemsByKey(batch, options.consistent ?? false)));
    return items.flat().map(toNode);
  }

  /** Items by key (at most 100), asking again for those DynamoDB leaves unprocessed. */
  private async itemsByKey(keys: Item[], consistent: boolean): Promise<Item[]> {
    const items: Item[] = [];
    let pending: Item[] = keys;
    for (let attempt = 0; pending.length > 0; attempt++) {
      // DynamoDB leaves keys unprocessed when the table is busy: back off before asking again.
      if (attempt > 0) await new Promise((wake) => setTimeout(wake, Math.min(1000, 50 * 2 ** attempt)));
      const { Responses, UnprocessedKeys } = await this.client.send(
        new BatchGetItemCommand({
          RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: consistent } },
        }),
      );
      items.push(...(Responses?.[this.tableName] ?? []));
      pending = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    return items;
  }

  async nodesWithRoom(limit: number): Promise<MediaNode[]> {
    const { Items } = await this.queryIndex(ROOM_INDEX, ROOM, { Limit: limit });
    return (Items ?? []).map(toNode);
  }

  /** One page of an index's partition, in its sort key's order. */
  private queryIndex(
    index: { name: string; partitionKey: string },
    partition: string,
    page: { ExclusiveStartKey?: Item; Limit?: number },
  ) {
    return this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: index.name,
        KeyConditionExpression: "#partition = :partition",
        ExpressionAttributeNames: { "#partition": index.partitionKey },
        ExpressionAttributeValues: { ":partition": { S: partition } },
        ...page,
      }),
    );
  }

  async getNode(nodeId: string): Promise<MediaNode | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: nodeKey(nodeId), ConsistentRead: true }),
    );
    return Item && toNode(Item);
  }

  async createNode(node: MediaNode): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: nodeItem(node),
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
    const side = sideItems(change, this.tableName);
    try {
      if (side.length === 0) return await this.updateNode(change, condition, update, x);
      return await this.transact(change, condition, update, x, side);
    } catch (error) {
      if (itemTooLarge(error))
        throw new ChangeRefusedError(change.nodeId, "its record would pass DynamoDB's 400 KB item limit");
      throw error;
    }
  }

  /** A change of the node's own record alone: one conditional UpdateItem that returns the record either way. */
  private async updateNode(
    change: NodeChange,
    condition: string,
    update: string | undefined,
    x: Expression,
  ): Promise<ChangeOutcome> {
    if (!update) throw new Error(`node change for ${change.nodeId} changes nothing`);
    try {
      const result = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: nodeKey(change.nodeId),
          UpdateExpression: update,
          ConditionExpression: condition,
          ...x.attributes(),
          ReturnValues: "ALL_NEW",
          // A lost race comes back with the node as it is now: no second read to decide again.
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { applied: true, node: toNode(result.Attributes ?? {}) };
    } catch (error) {
      if (!conditionFailed(error)) throw error;
      return { applied: false, node: error.Item && toNode(error.Item), conflict: "node" };
    }
  }

  /**
   * A change with claims or tombstones: the node's update (or, when it edits nothing there, a check
   * of its condition) and the other items in one TransactWriteItems. Claims released beyond the
   * transaction's 100 items (a node dying with more streams) go right after it, one by one.
   */
  private async transact(
    change: NodeChange,
    condition: string,
    update: string | undefined,
    x: Expression,
    side: TransactWriteItem[],
  ): Promise<ChangeOutcome> {
    const target = {
      TableName: this.tableName,
      Key: nodeKey(change.nodeId),
      ConditionExpression: condition,
    };
    const nodeItem: TransactWriteItem = update
      ? {
          Update: {
            ...target,
            UpdateExpression: update,
            ...x.attributes(),
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          },
        }
      : { ConditionCheck: { ...target, ...x.attributes(), ReturnValuesOnConditionCheckFailure: "ALL_OLD" } };
    const items = [nodeItem, ...side];
    try {
      await this.client.send(new TransactWriteItemsCommand({ TransactItems: items.slice(0, TRANSACTION_ITEMS) }));
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      return this.cancelled(error, items);
    }
    for (const item of items.slice(TRANSACTION_ITEMS)) await this.releaseLate(item);
    const node = change.basis ? applyEdits(change.basis, change) : await this.getNode(change.nodeId);
    if (!node) throw new Error(`node ${change.nodeId} vanished after a write to it`);
    return { applied: true, node };
  }

  /** What a cancelled transaction says: the first item whose condition failed, and the record it holds. */
  private cancelled(error: TransactionCanceledException, items: readonly TransactWriteItem[]): ChangeOutcome {
    const reasons = error.CancellationReasons ?? [];
    const failed = reasons.findIndex((r) => r.Code === "ConditionalCheckFailed");
    const item = reasons[failed]?.Item;
    if (failed === 0) return { applied: false, node: item && toNode(item), conflict: "node" };
    const failedItem = items[failed];
    const failedKey = failedItem?.ConditionCheck?.Key ?? failedItem?.Put?.Item ?? failedItem?.Delete?.Key;
    if (failedKey?.pk?.S?.startsWith(ENDED_PREFIX)) return { applied: false, conflict: "ended" };
    if (failedItem) return { applied: false, conflict: "claimed", claimedBy: item?.nodeId?.S };
    // Not a condition (a concurrent transaction on one of the items): a lost race, decided again on a fresh read.
    if (reasons.some((r) => r.Code === "TransactionConflict")) return { applied: false, conflict: "node" };
    throw error;
  }

  /** A claim release that did not fit in the transaction: its own conditional delete. */
  private async releaseLate(item: TransactWriteItem): Promise<void> {
    const release = item.Delete;
    if (!release) throw new Error("only claim releases may follow a transaction");
    try {
      await this.client.send(new DeleteItemCommand({ ...release, ReturnValuesOnConditionCheckFailure: undefined }));
    } catch (error) {
      if (!conditionFailed(error)) throw error;
    }
  }

  async claimOf(stream: string): Promise<StreamClaim | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: key(CLAIM_PREFIX + stream, CLAIM_SORT_KEY),
        ConsistentRead: true,
      }),
    );
    return Item && { stream, nodeId: Item.nodeId?.S ?? "", clientId: Item.clientId?.S ?? "" };
  }

  async deleteNode(nodeId: string, states: readonly NodeState[]): Promise<boolean> {
    const x = new Expression();
    const condition = `attribute_exists(${x.name("pk")}) AND ${x.name("state")} IN (${states.map((s) => x.value(s)).join(", ")})`;
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: nodeKey(nodeId),
          ConditionExpression: condition,
          ...x.attributes(),
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
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...key(LEASE_PARTITION, name),
            ...toAttributes({ owner, until: now + ttlMs, [TTL]: Math.ceil((now + ttlMs) / 1000) + 3600 }),
          },
          ConditionExpression: "attribute_not_exists(pk) OR #until <= :now OR #owner = :owner",
          ExpressionAttributeNames: { "#until": "until", "#owner": "owner" },
          ExpressionAttributeValues: toAttributes({ ":now": now, ":owner": owner }),
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
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: key(LEASE_PARTITION, name),
          ConditionExpression: "#owner = :owner",
          ExpressionAttributeNames: { "#owner": "owner" },
          ExpressionAttributeValues: toAttributes({ ":owner": owner }),
        }),
      );
    } catch (error) {
      if (!conditionFailed(error)) throw error;
    }
  }

  async noteWaiting(stream: string, until: number): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: key(WAITING_PARTITION, stream),
        UpdateExpression: "SET #until = :until, #ttl = :ttl",
        ExpressionAttributeNames: { "#until": "until", "#ttl": TTL },
        ExpressionAttributeValues: toAttributes({ ":until": until, ":ttl": Math.ceil(until / 1000) }),
      }),
    );
  }

  /** The waiting partition in sort key (stream name) order, filtered by time: TTL deletes late. */
  async waitingCameras(now: number, limit: number): Promise<WaitingCamera[]> {
    const waiting: WaitingCamera[] = [];
    let startKey: Item | undefined;
    for (let page = 0; page < WAITING_READ_PAGES && waiting.length < limit; page++) {
      const { Items, LastEvaluatedKey } = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "pk = :pk",
          FilterExpression: "#until > :now",
          ExpressionAttributeNames: { "#until": "until" },
          ExpressionAttributeValues: toAttributes({ ":pk": WAITING_PARTITION, ":now": now }),
          Limit: limit,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of Items ?? []) waiting.push({ stream: item.sk?.S ?? "", until: Number(item.until?.N) });
      startKey = LastEvaluatedKey;
      if (!startKey) break;
    }
    return waiting.slice(0, limit);
  }

  async appendEvents(events: readonly FleetEvent[]): Promise<void> {
    // Few events a tick: one conditional-free put each keeps this simple (BatchWrite needs retries of its own).
    for (const event of events) {
      const suffix = Math.random().toString(36).slice(2, 8);
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...key(EVENT_PARTITION, `${String(event.at).padStart(15, "0")}#${suffix}`),
            ...toAttributes({ ...event, [TTL]: Math.ceil((event.at + EVENT_RETENTION_MS) / 1000) }),
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
        ExpressionAttributeValues: { ":pk": { S: EVENT_PARTITION } },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (page.Items ?? []).map((item) => {
      const { pk: _pk, sk: _sk, [TTL]: _ttl, ...event } = unmarshall(item);
      return event as FleetEvent;
    });
  }
}
