/**
 * What a resolve and a publish read from DynamoDB, by fleet size: the real handlers over the
 * registry in moto, each DynamoDB call watched by an SDK middleware (items and bytes read, read
 * units, requests, and round trips: requests that wait on none before them). Used by
 * `npm run bench:control-plane`; `BENCH_READS_JSON=FILE` writes the figures alone (how the figures
 * of an older commit are taken, to show beside these).
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoRegistry } from "../lambdas/adapters/dynamo-registry";
import { cameraKey } from "../lambdas/core/credentials";
import type { StreamSlot } from "../lambdas/core/model";
import { createPublishHandler } from "../lambdas/handlers/hooks";
import { createResolveHandler } from "../lambdas/handlers/resolve";
import {
  CONTEXT,
  callbackBody,
  httpEvent,
  makeConfig,
  makeDeps,
  makeNode,
  SECRETS,
  TestClock,
  testNodeSecret,
} from "../test/support/builders";
import { freshDynamoRegistry } from "../test/support/registry-table";

/** The fleet sizes measured (`BENCH_READ_SIZES`, comma-separated), each node holding `STREAMS_PER_NODE` live streams. */
export const FLEET_SIZES = (process.env.BENCH_READ_SIZES ?? "10,100,500").split(",").map(Number);
export const STREAMS_PER_NODE = 46;
/** Cameras resolved and published per fleet size. */
const CALLS = Number(process.env.BENCH_READ_CALLS ?? 10);
/** One partition serves about this many read units a second. */
export const PARTITION_READ_UNITS = 3000;
/** A read unit: one strongly consistent read of up to 4 KB, or two eventually consistent ones. */
const READ_UNIT_BYTES = 4096;

type Item = Record<string, AttributeValue>;

/** What one handler call read. */
export interface CallReads {
  items: number;
  bytes: number;
  readUnits: number;
  /** Read units as DynamoDB (here moto) reported them (ReturnConsumedCapacity=TOTAL); 0 when it reports none. */
  reportedUnits: number;
  requests: number;
  roundTrips: number;
}

/** Per fleet size, the mean reads of a resolve and of a publish. */
export type ReadCosts = Record<string, { resolve: CallReads; publish: CallReads }>;

/** An attribute value's size by DynamoDB's rules (names and string bytes, numbers about half their digits). */
function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-|\.|^0+/g, "").length / 2) + 1;
  if (value.M) return 3 + itemBytes(value.M) + Object.keys(value.M).length;
  if (value.L) return 3 + value.L.reduce((sum, v) => sum + 1 + valueBytes(v), 0);
  return 1;
}

/** An item's size as DynamoDB counts it: each attribute's name and value. */
export function itemBytes(item: Item): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + valueBytes(value), 0);
}

/** Read units of a read: whole 4 KB units of `bytes` (per item for GetItem and BatchGetItem, per request for Query), halved unless strongly consistent. */
function readUnits(sizes: number[], perItem: boolean, consistent: boolean): number {
  const units = perItem
    ? sizes.reduce((sum, size) => sum + Math.max(1, Math.ceil(size / READ_UNIT_BYTES)), 0)
    : Math.max(1, Math.ceil(sizes.reduce((a, b) => a + b, 0) / READ_UNIT_BYTES));
  return consistent ? units : units / 2;
}

/** Watches a client's calls: every read asks for its consumed capacity, and what it returns is counted. */
function watchReads(client: DynamoDBClient) {
  const totals: CallReads = { items: 0, bytes: 0, readUnits: 0, reportedUnits: 0, requests: 0, roundTrips: 0 };
  let inFlight = 0;
  client.middlewareStack.add(
    ((next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      const command = context.commandName ?? "";
      const input = (args as { input: Record<string, unknown> }).input;
      const read = ["QueryCommand", "GetItemCommand", "BatchGetItemCommand"].includes(command);
      if (read) input.ReturnConsumedCapacity = "TOTAL";
      totals.requests++;
      // A request sent while another of the call is on its way waits on it no longer: one round trip.
      if (inFlight === 0) totals.roundTrips++;
      inFlight++;
      try {
        const result = (await next(args)) as { output: Record<string, unknown> };
        if (read) count(command, input, result.output);
        return result;
      } finally {
        inFlight--;
      }
    }) as never,
    { step: "initialize", name: "benchReadWatcher" },
  );
  const count = (command: string, input: Record<string, unknown>, output: Record<string, unknown>) => {
    const batch = input.RequestItems as Record<string, { ConsistentRead?: boolean }> | undefined;
    const items: Item[] =
      command === "QueryCommand"
        ? ((output.Items as Item[]) ?? [])
        : command === "GetItemCommand"
          ? [output.Item as Item].filter(Boolean)
          : Object.values((output.Responses as Record<string, Item[]>) ?? {}).flat();
    const sizes = items.map(itemBytes);
    const consistent = Boolean(input.ConsistentRead ?? Object.values(batch ?? {})[0]?.ConsistentRead);
    totals.items += items.filter((item) => item.pk?.S?.startsWith("NODE")).length;
    totals.bytes += sizes.reduce((a, b) => a + b, 0);
    totals.readUnits += readUnits(sizes, command !== "QueryCommand", consistent);
    const consumed = output.ConsumedCapacity as { CapacityUnits?: number } | { CapacityUnits?: number }[] | undefined;
    totals.reportedUnits += [consumed ?? []].flat().reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);
  };
  /** The reads since the last call, and a fresh count. */
  const take = (): CallReads => {
    const taken = { ...totals };
    Object.assign(totals, { items: 0, bytes: 0, readUnits: 0, reportedUnits: 0, requests: 0, roundTrips: 0 });
    return taken;
  };
  return take;
}

/** The mean of each figure over the calls. */
function mean(calls: CallReads[]): CallReads {
  const sum = (key: keyof CallReads) => calls.reduce((total, call) => total + call[key], 0) / calls.length;
  return {
    items: sum("items"),
    bytes: sum("bytes"),
    readUnits: sum("readUnits"),
    reportedUnits: sum("reportedUnits"),
    requests: sum("requests"),
    roundTrips: sum("roundTrips"),
  };
}

/** A fleet of `size` nodes with `STREAMS_PER_NODE` live streams each, room for 50 (1% CPU a stream). */
async function fleetOf(size: number) {
  const { tableName } = await freshDynamoRegistry("reads");
  const client = new DynamoDBClient({});
  const registry = new DynamoRegistry(client, tableName);
  const live = (node: number): Record<string, StreamSlot> =>
    Object.fromEntries(
      Array.from({ length: STREAMS_PER_NODE }, (_, s) => [
        `node${node}-camera${s}`,
        { state: "LIVE", since: Date.now(), clientId: String(1000 + s) },
      ]),
    );
  for (let i = 0; i < size; i++) {
    const nodeId = `i-${String(i).padStart(17, "0")}`;
    // Protected from scale-in, as a node carrying streams is: no protection write follows a resolve.
    const node = makeNode({ nodeId, launchedAt: Date.now() - size + i, streams: live(i), protectedFromScaleIn: true });
    await registry.createNode(node);
    if ((i + 1) % 100 === 0) console.error(`    ${i + 1}/${size} nodes written`);
  }
  return { client, registry };
}

/** Resolves and publishes `CALLS` new cameras on a fleet of each size, counting what each call reads. */
export async function readCosts(): Promise<ReadCosts> {
  const costs: ReadCosts = {};
  for (const size of FLEET_SIZES) {
    console.error(`  reads at ${size} nodes of ${STREAMS_PER_NODE} streams`);
    const { client, registry } = await fleetOf(size);
    const take = watchReads(client);
    const deps = makeDeps(registry, {
      config: makeConfig({ maxStreamsPerNode: 50, streamCpuCostPercent: 1 }),
      clock: new TestClock(Date.now()),
    });
    deps.fleet.setProtection = async () => undefined;
    const resolve = createResolveHandler(deps);
    const publish = createPublishHandler(deps);
    const calls = { resolve: [] as CallReads[], publish: [] as CallReads[] };
    for (let i = 0; i < CALLS; i++) {
      const stream = `new-camera${i}`;
      const key = cameraKey(SECRETS.cameraMaster, stream);
      take();
      const resolved = await resolve(httpEvent({ path: "/resolve", query: `stream=${stream}&key=${key}` }), CONTEXT);
      calls.resolve.push(take());
      if (resolved.statusCode !== 200) throw new Error(`resolve answered ${resolved.statusCode}`);
      const nodeId = JSON.parse(resolved.body as string).nodeId as string;
      const headers = {
        "x-node-id": nodeId,
        "x-node-secret": testNodeSecret(nodeId),
        "content-type": "application/x-www-form-urlencoded",
      };
      const body = callbackBody({
        call: "publish",
        name: stream,
        clientid: String(i),
        type: "live",
        args: `key=${key}`,
      });
      const published = await publish(httpEvent({ method: "POST", path: "/hooks/publish", headers, body }), CONTEXT);
      calls.publish.push(take());
      if (published.statusCode !== 200) throw new Error(`publish answered ${published.statusCode}`);
    }
    costs[String(size)] = { resolve: mean(calls.resolve), publish: mean(calls.publish) };
  }
  return costs;
}
