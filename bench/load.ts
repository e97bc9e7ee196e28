/**
 * `npm run bench:load`: 1000 cameras resolve at once, then all publish at once, through the real
 * handlers: against local mode's HTTP server (in-memory registry) and against the DynamoDB
 * registry in moto. Checks that no node holds more than its room and no placed stream is lost,
 * and reports p50/p99 latency. Writes its section of docs/BENCHMARKS.md.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoRegistry } from "../lambdas/adapters/dynamo-registry";
import { MemoryRegistry } from "../lambdas/adapters/memory-registry";
import type { FleetConfig } from "../lambdas/core/config";
import { heldStreams } from "../lambdas/core/model";
import { slotLimit } from "../lambdas/core/placement";
import type { Registry } from "../lambdas/core/registry";
import { createPublishHandler } from "../lambdas/handlers/hooks";
import type { HttpEvent, HttpResult } from "../lambdas/handlers/http";
import { createResolveHandler } from "../lambdas/handlers/resolve";
import { startApiServer } from "../local/server";
import { type CommandSpec, noArguments } from "../scripts/command-line";
import {
  CONTEXT,
  callbackBody,
  httpEvent,
  makeConfig,
  makeDeps,
  makeNode,
  T0,
  TestClock,
  testNodeSecret,
} from "../test/support/builders";
import { MOTO_ENV, startMoto } from "../test/support/moto";
import { freshDynamoRegistry } from "../test/support/registry-table";
import { machine, markdownTable, percentile, writeSection } from "./markdown";

const CAMERAS = Number(process.env.BENCH_CAMERAS ?? 1000);
const NODES = 30;
const CONFIG: FleetConfig = makeConfig({ maxStreamsPerNode: 40 });

/** Sends one request and answers status, body and time. */
type Send = (event: HttpEvent) => Promise<{ result: HttpResult; ms: number }>;

interface Outcome {
  target: string;
  resolveMs: number[];
  publishMs: number[];
  placed: number;
  refused: Record<number, number>;
  published: number;
  overCapacity: string[];
  lost: string[];
}

async function seed(registry: Registry): Promise<void> {
  for (let i = 0; i < NODES; i++) {
    // Launched protected, as the group does: no protection call on the hot path.
    await registry.createNode(
      makeNode({ nodeId: `n${String(i).padStart(2, "0")}`, launchedAt: T0 + i, protectedFromScaleIn: true }),
    );
  }
}

async function run(target: string, registry: Registry, send: Send): Promise<Outcome> {
  const names = Array.from({ length: CAMERAS }, (_, i) => `cam${i}`);
  const resolves = await Promise.all(
    names.map((stream) => send(httpEvent({ path: "/resolve", query: `stream=${stream}` }))),
  );
  const refused: Record<number, number> = {};
  const placed = new Map<string, string>();
  resolves.forEach(({ result }, i) => {
    if (result.statusCode === 200) placed.set(names[i] as string, JSON.parse(result.body as string).nodeId);
    else refused[result.statusCode] = (refused[result.statusCode] ?? 0) + 1;
  });
  const publishes = await Promise.all(
    [...placed].map(([stream, nodeId], i) =>
      send(
        httpEvent({
          method: "POST",
          path: "/hooks/publish",
          body: callbackBody({ call: "publish", name: stream, clientid: String(i + 1), type: "live" }),
          headers: {
            "x-node-id": nodeId,
            "x-node-secret": testNodeSecret(nodeId),
            "content-type": "application/x-www-form-urlencoded",
          },
        }),
      ),
    ),
  );
  const nodes = await registry.listNodes({ consistent: true });
  const overCapacity = nodes
    .filter((n) => heldStreams(n, T0).length > slotLimit(n, CONFIG))
    .map((n) => `${n.nodeId}: ${heldStreams(n, T0).length}`);
  const lost = [...placed].filter(
    ([stream, nodeId]) => nodes.find((n) => n.nodeId === nodeId)?.streams[stream]?.state !== "LIVE",
  );
  return {
    target,
    resolveMs: resolves.map((r) => r.ms),
    publishMs: publishes.map((r) => r.ms),
    placed: placed.size,
    refused,
    published: publishes.filter((p) => p.result.statusCode === 200).length,
    overCapacity,
    lost: lost.map(([s]) => s),
  };
}

async function againstLocalMode(): Promise<Outcome> {
  const registry = new MemoryRegistry();
  await seed(registry);
  const deps = makeDeps(registry, { config: CONFIG, cameraKeys: false, clock: new TestClock(T0) });
  const server = await startApiServer(deps, 0);
  try {
    const send: Send = async (event) => {
      const start = performance.now();
      const query = event.rawQueryString ? `?${event.rawQueryString}` : "";
      const response = await fetch(`${server.url}${event.rawPath}${query}`, {
        method: event.requestContext.http.method,
        headers: event.headers as Record<string, string>,
        body: event.body,
      });
      const body = await response.text();
      return { result: { statusCode: response.status, headers: {}, body }, ms: performance.now() - start };
    };
    return await run("local mode (HTTP, in-memory registry)", registry, send);
  } finally {
    await server.close();
  }
}

async function againstMoto(): Promise<Outcome> {
  const moto = await startMoto();
  Object.assign(process.env, MOTO_ENV, { AWS_ENDPOINT_URL: moto.endpoint });
  try {
    const { tableName } = await freshDynamoRegistry("load");
    // 1000 Lambdas would each open their own connection; moto's single server accepts a backlog of
    // 128, so the handlers share 128 connections here (the calls are still all in flight at once).
    const client = new DynamoDBClient({ requestHandler: { httpAgent: { maxSockets: 128 } } });
    const registry = new DynamoRegistry(client, tableName);
    await seed(registry);
    const deps = makeDeps(registry, { config: CONFIG, cameraKeys: false, clock: new TestClock(T0) });
    deps.fleet.setProtection = async () => undefined; // only the registry is under test here
    const resolve = createResolveHandler(deps);
    const publish = createPublishHandler(deps);
    // Middy answers early when the Lambda's time runs out; here moto's queue is the slow part, so
    // each call gets a Lambda's longest time instead of the tests' 10 s.
    const context = { ...CONTEXT, getRemainingTimeInMillis: () => 900_000 };
    const send: Send = async (event) => {
      const start = performance.now();
      const handler = event.rawPath === "/resolve" ? resolve : publish;
      const result = await handler(event, context);
      return { result, ms: performance.now() - start };
    };
    return await run("handlers over the DynamoDB registry in moto", registry, send);
  } finally {
    await moto.stop();
  }
}

const COMMAND: CommandSpec = {
  name: "bench:load",
  synopsis: "npm run bench:load",
  summary:
    "Cameras resolve at once, then all publish at once, against local mode's server and against the DynamoDB registry in moto; p50/p99 latency. Writes its section of docs/BENCHMARKS.md. BENCH_CAMERAS sets the cameras (default 1000).",
  options: {},
};

async function main(): Promise<void> {
  if (!noArguments(COMMAND)) return;
  const outcomes: Outcome[] = [];
  for (const [name, bench] of [
    ["local mode", againstLocalMode],
    ["moto", againstMoto],
  ] as const) {
    console.error(`load: ${CAMERAS} concurrent resolves, then their publishes, against ${name}`);
    const outcome = await bench();
    console.error(
      `  placed ${outcome.placed}, over capacity ${outcome.overCapacity.length}, lost ${outcome.lost.length}`,
    );
    outcomes.push(outcome);
  }
  const fmt = (values: number[], p: number) => percentile(values, p).toFixed(0);
  const body = [
    `Command: \`npm run bench:load\` (${machine()}). ${CAMERAS} cameras resolve at once, then every placed one publishes at once, on ${NODES} nodes with room for ${CONFIG.maxStreamsPerNode} each (${NODES * (CONFIG.maxStreamsPerNode ?? 0)} slots). Latency is per request, measured by the caller, while all the others are in flight.`,
    "",
    markdownTable(
      [
        "against",
        "placed",
        "refused (status: count)",
        "published",
        "nodes over capacity",
        "placed streams lost",
        "resolve p50 / p99 (ms)",
        "publish p50 / p99 (ms)",
      ],
      outcomes.map((o) => [
        o.target,
        o.placed,
        Object.entries(o.refused)
          .map(([s, n]) => `${s}: ${n}`)
          .join(", ") || "none",
        o.published,
        o.overCapacity.length,
        o.lost.length,
        `${fmt(o.resolveMs, 50)} / ${fmt(o.resolveMs, 99)}`,
        `${fmt(o.publishMs, 50)} / ${fmt(o.publishMs, 99)}`,
      ]),
    ),
    "",
    "Refusals, if any, are 503s with Retry-After: a camera that lost every race for a slot is told to retry (the registry never over-fills a node to avoid it). Against moto the requests queue behind one Python process, so the tail latency is moto's queue, not DynamoDB's.",
  ].join("\n");
  writeSection("load", body);
  console.log(body);
  const bad = outcomes.filter((o) => o.overCapacity.length > 0 || o.lost.length > 0);
  if (bad.length > 0) {
    console.error(
      `load: FAILED: ${JSON.stringify(bad.map((o) => ({ target: o.target, over: o.overCapacity, lost: o.lost })))}`,
    );
    process.exit(1);
  }
}

main().catch((error: Error) => {
  console.error(`bench:load failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
