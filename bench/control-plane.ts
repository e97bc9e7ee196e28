/**
 * `npm run bench:control-plane`: the control plane's costs, measured.
 * - DynamoDB round trips per resolve, publish and done (counted by an SDK middleware), and the
 *   handlers' p50/p99 latency, with the real handlers over the DynamoDB registry in moto;
 * - what a resolve and a publish read at 10, 100 and 500 nodes (`read-costs.ts`), beside the same
 *   figures taken on the commit before node items had a partition each (bench/control-plane-before.json);
 * - the minified bundle of each Lambda (as the CDK stack bundles it) and how long it takes to load
 *   in a fresh Node process: `on_publish` must answer well inside nginx-rtmp's 10 s on a cold start.
 * Writes its section of docs/BENCHMARKS.md.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { build } from "esbuild";
import { DynamoRegistry } from "../lambdas/adapters/dynamo-registry";
import { ENV, FUNCTION_NAMES } from "../lambdas/contract";
import { cameraKey } from "../lambdas/core/credentials";
import { createDoneHandler, createPublishHandler } from "../lambdas/handlers/hooks";
import { createResolveHandler } from "../lambdas/handlers/resolve";
import { type CommandSpec, noArguments } from "../scripts/command-line";
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
import { MOTO_ENV, startMoto } from "../test/support/moto";
import { freshDynamoRegistry } from "../test/support/registry-table";
import { countRequests, machine, markdownTable, percentile, writeSection } from "./markdown";
import { FLEET_SIZES, PARTITION_READ_UNITS, type ReadCosts, readCosts, STREAMS_PER_NODE } from "./read-costs";

const CAMERAS = Number(process.env.BENCH_CAMERAS ?? 300);
const NODES = 10;
const LOAD_RUNS = 7;

/** Runs `measure` against a moto server of its own. */
async function withMoto<T>(measure: () => Promise<T>): Promise<T> {
  const moto = await startMoto();
  Object.assign(process.env, MOTO_ENV, { AWS_ENDPOINT_URL: moto.endpoint });
  try {
    return await measure();
  } finally {
    await moto.stop();
  }
}

/** The figures of the commit before D16 (every node under one partition, the fleet read by each call). */
const BEFORE_FILE = path.resolve(__dirname, "control-plane-before.json");

/** Moto's reported units a request, as one figure (they are all the same). */
function fmtUnits(perRequest: number[]): string {
  return [...new Set(perRequest.map((u) => u.toFixed(1)))].join(" or ");
}

/** The reads table: per fleet size and call, the figures before D16 and now. */
function readsTable(after: ReadCosts): string {
  const before = JSON.parse(readFileSync(BEFORE_FILE, "utf8")) as { commit: string; note: string; costs: ReadCosts };
  const fmt = (n: number, digits = 1) => n.toFixed(digits);
  const rows = FLEET_SIZES.flatMap((size) =>
    (["resolve", "publish"] as const).map((call) => {
      const then = before.costs[String(size)]?.[call];
      const now = after[String(size)]?.[call];
      if (!then || !now) throw new Error(`no ${call} figures at ${size} nodes`);
      const pair = (a: number, b: number, digits = 1) => `${fmt(a, digits)} → **${fmt(b, digits)}**`;
      return [
        size,
        call,
        pair(then.items, now.items),
        pair(then.bytes / 1024, now.bytes / 1024),
        pair(then.readUnits, now.readUnits),
        pair(then.requests, now.requests),
        pair(then.roundTrips, now.roundTrips),
        pair(PARTITION_READ_UNITS / then.readUnits, PARTITION_READ_UNITS / now.readUnits, 0),
      ];
    }),
  );
  const reported = Object.values(after).map((c) => c.resolve.reportedUnits / c.resolve.requests);
  return [
    `What one resolve and one publish of a new camera read, on fleets of ${FLEET_SIZES.join(", ")} nodes holding ${STREAMS_PER_NODE} live streams each (means over the calls; before → **after**, before being commit \`${before.commit}\`, where every node item shared \`pk = NODE\` and each call read them all; ${before.note}):`,
    "",
    markdownTable(
      [
        "nodes",
        "call",
        "node items read",
        "KiB read",
        "read units",
        "requests",
        "round trips",
        `calls/s one partition allows (${PARTITION_READ_UNITS} RCU/s)`,
      ],
      rows,
    ),
    "",
    `Read units are computed from the item sizes read, by DynamoDB's rule, because moto answers ReturnConsumedCapacity=TOTAL with ${fmtUnits(reported)} unit a request whatever it reads: a Query costs its items' total size in 4 KB units, a GetItem or each item of a BatchGetItem its own size in 4 KB units; a strongly consistent read counts in full, an eventually consistent one half. Item sizes follow DynamoDB's rule (attribute names plus values). A round trip is a request that waits on no other request of the call: resolve reads the stream's claim and the nodes with room side by side, then writes; publish reads its node and the nodes with room side by side, then writes. Calls a second is ${PARTITION_READ_UNITS} divided by a call's read units, as if they all fell on one partition: after D16 the index read, the largest, is the only one on a shared partition (the index's), the others each on their own item's.`,
  ].join("\n");
}

async function handlerCosts() {
  const { tableName } = await freshDynamoRegistry("bench");
  const raw = new DynamoDBClient({});
  const calls = countRequests(raw as never);
  const registry = new DynamoRegistry(raw, tableName);
  for (let i = 0; i < NODES; i++) {
    await registry.createNode(makeNode({ nodeId: `i-${String(i).padStart(3, "0")}`, launchedAt: Date.now() + i }));
  }
  const deps = makeDeps(registry, {
    config: makeConfig({ maxStreamsPerNode: 45 }),
    clock: new TestClock(Date.now()),
  });
  // Protection calls go to the in-process group: only DynamoDB is counted here.
  deps.fleet.setProtection = async () => undefined;
  const resolve = createResolveHandler(deps);
  const publish = createPublishHandler(deps);
  const done = createDoneHandler(deps);
  const samples = { resolve: [] as number[], publish: [] as number[], done: [] as number[] };
  const trips = { resolve: [] as number[], publish: [] as number[], done: [] as number[] };
  const measure = async (kind: keyof typeof samples, run: () => Promise<{ statusCode: number }>) => {
    const before = [...calls.values()].reduce((a, b) => a + b, 0);
    const start = performance.now();
    const result = await run();
    samples[kind].push(performance.now() - start);
    trips[kind].push([...calls.values()].reduce((a, b) => a + b, 0) - before);
    if (result.statusCode !== 200) throw new Error(`${kind} answered ${result.statusCode}`);
  };
  for (let i = 0; i < CAMERAS; i++) {
    const stream = `cam${i}`;
    const key = cameraKey(SECRETS.cameraMaster, stream);
    let nodeId = "";
    await measure("resolve", async () => {
      const result = await resolve(httpEvent({ path: "/resolve", query: `stream=${stream}&key=${key}` }), CONTEXT);
      nodeId = JSON.parse(result.body as string).nodeId;
      return result;
    });
    const headers = {
      "x-node-id": nodeId,
      "x-node-secret": testNodeSecret(nodeId),
      "content-type": "application/x-www-form-urlencoded",
    };
    await measure("publish", () =>
      publish(
        httpEvent({
          method: "POST",
          path: "/hooks/publish",
          headers,
          body: callbackBody({
            call: "publish",
            name: stream,
            clientid: String(i),
            type: "live",
            args: `key=${key}`,
          }),
        }),
        CONTEXT,
      ),
    );
    if (i % 3 === 0) {
      await measure("done", () =>
        done(
          httpEvent({
            method: "POST",
            path: "/hooks/done",
            headers,
            body: callbackBody({ call: "publish_done", name: stream, clientid: String(i), args: `key=${key}` }),
          }),
          CONTEXT,
        ),
      );
    }
    if ((i + 1) % 100 === 0) console.error(`  ${i + 1}/${CAMERAS} cameras`);
  }
  return { samples, trips };
}

/** Bundles every Lambda as the stack does (esbuild, minified, SDK included) and times loading it. */
async function bundles() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-bundles-"));
  const functionsDir = path.resolve(__dirname, "../lambdas/functions");
  const rows: { name: string; bytes: number; gzip: number; loadMs: number[] }[] = [];
  try {
    for (const name of [...FUNCTION_NAMES].sort()) {
      const file = `${name}.ts`;
      const outfile = path.join(dir, `${name}.js`);
      await build({
        entryPoints: [path.join(functionsDir, file)],
        outfile,
        bundle: true,
        minify: true,
        platform: "node",
        target: "node22",
        format: "cjs",
        logLevel: "error",
      });
      const code = readFileSync(outfile);
      const env = {
        ...process.env,
        [ENV.table]: "t",
        [ENV.instanceArnPrefix]: "arn:aws:ec2:us-east-1:123456789012:instance/",
        [ENV.groupName]: "g",
        [ENV.launchHook]: "l",
        [ENV.terminateHook]: "t",
        [ENV.nodeSecretPrefix]: "/p",
        [ENV.scalerFunction]: "f",
        AWS_REGION: "us-east-1",
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      };
      const loadMs: number[] = [];
      for (let run = 0; run < LOAD_RUNS; run++) {
        const out = execFileSync(
          process.execPath,
          [
            "-e",
            `const t=process.hrtime.bigint();require(${JSON.stringify(outfile)});console.log(Number(process.hrtime.bigint()-t)/1e6)`,
          ],
          { env, encoding: "utf8" },
        );
        loadMs.push(Number(out.trim()));
      }
      rows.push({ name, bytes: statSync(outfile).size, gzip: gzipSync(code).length, loadMs });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

const COMMAND: CommandSpec = {
  name: "bench:control-plane",
  synopsis: "npm run bench:control-plane",
  summary:
    "The control plane's DynamoDB round trips and latency per resolve, publish and done (the real handlers over the registry in moto), and each Lambda's bundle and cold load time. Writes its section of docs/BENCHMARKS.md. BENCH_CAMERAS sets the cameras (default 300).",
  options: {},
};

async function main(): Promise<void> {
  if (!noArguments(COMMAND)) return;
  const readsOnly = process.env.BENCH_READS_JSON;
  if (readsOnly) {
    // The figures alone: how bench/control-plane-before.json is taken on an older commit.
    writeFileSync(readsOnly, `${JSON.stringify(await withMoto(readCosts), null, 2)}\n`);
    return;
  }
  console.error(`control-plane benchmark: ${CAMERAS} cameras over ${NODES} nodes against moto`);
  const { samples, trips } = await withMoto(handlerCosts);
  console.error("reads per resolve and publish by fleet size");
  const reads = await withMoto(readCosts);
  console.error("bundling and loading each Lambda");
  const bundleRows = await bundles();
  const fmt = (n: number) => n.toFixed(1);
  const tripsRow = (kind: keyof typeof trips) => {
    const t = trips[kind];
    return [
      kind,
      t.length,
      Math.min(...t),
      fmt(t.reduce((a, b) => a + b, 0) / t.length),
      Math.max(...t),
      fmt(percentile(samples[kind], 50)),
      fmt(percentile(samples[kind], 99)),
    ];
  };
  const body = [
    `Command: \`npm run bench:control-plane\` (${machine()}). The real handlers over the DynamoDB registry in moto (one Python process, requests serialized), ${CAMERAS} cameras resolving, publishing and (one in three) ending, spread over ${NODES} nodes with room for 45 each.`,
    "",
    markdownTable(
      ["handler", "calls", "DynamoDB requests min", "mean", "max", "latency p50 (ms)", "p99 (ms)"],
      (["resolve", "publish", "done"] as const).map(tripsRow),
    ),
    "",
    "Requests, counted one by one: resolve reads the stream's claim and the first nodes with room (a Query of the `NodesWithRoom` index) side by side, and takes the slot (1 conditional UpdateItem; the first slot of a node is followed by the write of its scale-in protection, as before D16); publish reads its node and the first nodes with room side by side, and writes the slot with the stream's claim (1 TransactWriteItems); done removes the slot and releases the stream's claim in one TransactWriteItems, then reads the node back (a transaction returns no item) and lists the node again among those with room when the freed slot gives it room (1 UpdateItem); a `done` that matches no live publish writes a tombstone instead. Latency is against moto on loopback, so it measures our code plus moto, not DynamoDB's network.",
    "",
    readsTable(reads),
    "",
    "Lambda bundles (esbuild, minified, AWS SDK v3 included, as the stack builds them) and the time to load each bundle in a fresh Node process (module init: the SDK clients, the handler; median of " +
      `${LOAD_RUNS} runs):`,
    "",
    markdownTable(
      ["function", "bundle (KiB)", "gzip (KiB)", "load p50 (ms)", "load max (ms)"],
      bundleRows.map((r) => [
        r.name,
        fmt(r.bytes / 1024),
        fmt(r.gzip / 1024),
        fmt(percentile(r.loadMs, 50)),
        fmt(Math.max(...r.loadMs)),
      ]),
    ),
    "",
    "A cold `on_publish` adds the Lambda runtime's own start (a few hundred ms for Node on ARM64) and the first Secrets Manager read to the load time above: well inside nginx-rtmp's 10 s.",
  ].join("\n");
  writeSection("control-plane", body);
  console.log(body);
}

main().catch((error: Error) => {
  console.error(`bench:control-plane failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
