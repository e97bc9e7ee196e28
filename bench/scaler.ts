/**
 * `npm run bench:scaler`: API calls and time of one scaler tick as the fleet grows (10, 100, 500
 * nodes), against moto's Auto Scaling, EC2, CloudWatch and the DynamoDB registry. Each fleet is in
 * a steady state: every node ACTIVE with 20 live streams and a fresh heartbeat CPU sample, one
 * spare node, CloudWatch datapoints for every instance. A second row per size has no CPU in the
 * heartbeats, so every CloudWatch sample is newer and the tick writes it to each node: the worst
 * case. Writes its section of docs/BENCHMARKS.md.
 */
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { AsgFleet } from "../lambdas/adapters/asg-fleet";
import { CloudWatchMetrics } from "../lambdas/adapters/cloudwatch-metrics";
import { DynamoRegistry } from "../lambdas/adapters/dynamo-registry";
import type { StreamSlot } from "../lambdas/core/model";
import { runScalerTick } from "../lambdas/core/scaler-run";
import { decideScaling } from "../lambdas/core/scaling-plan";
import { type CommandSpec, noArguments } from "../scripts/command-line";
import { makeConfig } from "../test/support/builders";
import { MOTO_ENV, startMoto } from "../test/support/moto";
import { motoFleet } from "../test/support/moto-fleet";
import { countRequests, machine, markdownTable, percentile, writeSection } from "./markdown";

const SIZES = (process.env.BENCH_SIZES ?? "10,100,500").split(",").map(Number);
const STREAMS_PER_NODE = 20;
const RUNS = 3;

interface Row {
  nodes: number;
  agentCpu: boolean;
  calls: Map<string, number>;
  ms: number[];
  /** The pure decision alone, in process (ms, median). */
  decisionMs: number;
}

async function measure(size: number, agentCpu: boolean): Promise<Row> {
  const config = makeConfig({ maxStreamsPerNode: 45, bufferNodes: 1, minNodes: 1, maxNodes: size + 10 });
  const harness = await motoFleet(config, { max: size + 10 });
  // Grow the group to size + 1 (the spare) and register every node with its streams.
  await harness.deps.fleet.setDesiredCapacity(size + 1);
  await harness.heartbeats();
  const { instances } = await harness.instances();
  const ids = instances.map((i) => i.InstanceId as string).sort();
  const now = harness.clock.ms;
  for (const [index, nodeId] of ids.entries()) {
    if (index === ids.length - 1) break; // the spare stays empty
    const streams: Record<string, StreamSlot> = {};
    for (let s = 0; s < STREAMS_PER_NODE; s++) {
      streams[`${nodeId}-cam${s}`] = { state: "LIVE", since: now, clientId: String(s + 1) };
    }
    await harness.registry.applyChange({
      nodeId,
      when: {},
      putStreams: streams,
      set: {
        protectedFromScaleIn: true,
        ...(agentCpu ? { cpu: { percent: 40, at: now, streams: STREAMS_PER_NODE } } : {}),
      },
    });
  }
  if (!agentCpu) {
    // Drop the heartbeats' CPU: CloudWatch's samples are then the newest.
    for (const nodeId of ids) {
      const node = await harness.registry.getNode(nodeId);
      if (node?.cpu) {
        await harness.registry.applyChange({ nodeId, when: {}, set: { cpu: { ...node.cpu, at: 0 } } });
      }
    }
  }
  const cloudwatch = new CloudWatchClient({});
  for (let i = 0; i < ids.length; i += 500) {
    await cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: "AWS/EC2",
        MetricData: ids.slice(i, i + 500).map((id) => ({
          MetricName: "CPUUtilization",
          Dimensions: [{ Name: "InstanceId", Value: id }],
          Timestamp: new Date(now - 120_000),
          Value: 40,
          Unit: "Percent",
        })),
      }),
    );
  }

  // Fresh clients, counted: only the tick's own calls.
  const autoscaling = new AutoScalingClient({});
  const cw = new CloudWatchClient({});
  const dynamo = new DynamoDBClient({ requestHandler: { httpAgent: { maxSockets: 64 } } });
  const calls = [countRequests(autoscaling as never), countRequests(cw as never), countRequests(dynamo as never)];
  const deps = {
    ...harness.deps,
    registry: new DynamoRegistry(dynamo, harness.registry.tableName),
    fleet: new AsgFleet(autoscaling, { groupName: harness.groupName, launchHookName: "l", terminateHookName: "t" }),
    metrics: new CloudWatchMetrics(cw),
  };
  const ms: number[] = [];
  let first: Map<string, number> | undefined;
  let decisionMs = Number.NaN;
  for (let run = 0; run < RUNS; run++) {
    for (const c of calls) c.clear();
    const start = performance.now();
    const report = await runScalerTick({ ...deps, owner: `bench-${run}` });
    ms.push(performance.now() - start);
    if (!report.ran) throw new Error("the tick did not get the lease");
    if (report.plan?.desiredCapacity !== undefined || (report.plan?.drain.length ?? 0) > 0) {
      throw new Error(`the fleet of ${size} is not steady: ${JSON.stringify(report.plan?.events)}`);
    }
    first ??= new Map(calls.flatMap((c) => [...c]));
    if (run === 0) {
      const group = await deps.fleet.describe();
      const nodes = report.nodes ?? [];
      const times: number[] = [];
      for (let i = 0; i < 20; i++) {
        const start = performance.now();
        decideScaling({ nodes, group, config, now: deps.now() });
        times.push(performance.now() - start);
      }
      decisionMs = percentile(times, 50);
    }
  }
  return { nodes: size, agentCpu, calls: first ?? new Map(), ms, decisionMs };
}

const COMMAND: CommandSpec = {
  name: "bench:scaler",
  synopsis: "npm run bench:scaler",
  summary:
    "API calls and time of one scaler tick as the fleet grows, against moto. Writes its section of docs/BENCHMARKS.md. BENCH_SIZES sets the fleet sizes (default 10,100,500).",
  options: {},
};

async function main(): Promise<void> {
  if (!noArguments(COMMAND)) return;
  const moto = await startMoto();
  Object.assign(process.env, MOTO_ENV, { AWS_ENDPOINT_URL: moto.endpoint });
  const rows: Row[] = [];
  try {
    for (const size of SIZES) {
      for (const agentCpu of [true, false]) {
        console.error(`scaler tick, ${size} nodes, ${agentCpu ? "heartbeat CPU" : "CloudWatch CPU only"}`);
        rows.push(await measure(size, agentCpu));
      }
    }
  } finally {
    await moto.stop();
  }
  const get = (row: Row, op: string) => row.calls.get(op) ?? 0;
  const body = [
    `Command: \`npm run bench:scaler\` (${machine()}). One tick over a steady fleet in moto: every node ACTIVE with ${STREAMS_PER_NODE} live streams, plus one empty spare; first-run call counts (exact), wall time the median of ${RUNS} runs (moto serializes requests, so time grows with the bytes it parses, not with DynamoDB's or Auto Scaling's speed).`,
    "",
    markdownTable(
      [
        "nodes",
        "CPU source",
        "DescribeAutoScalingGroups",
        "GetMetricData",
        "DynamoDB Query",
        "DynamoDB UpdateItem",
        "lease Put + Delete",
        "all API calls",
        "tick p50 (ms)",
        "of which the decision (ms)",
      ],
      rows.map((r) => [
        r.nodes + 1,
        r.agentCpu ? "heartbeats" : "CloudWatch only",
        get(r, "DescribeAutoScalingGroupsCommand"),
        get(r, "GetMetricDataCommand"),
        get(r, "QueryCommand"),
        get(r, "UpdateItemCommand"),
        get(r, "PutItemCommand") + get(r, "DeleteItemCommand"),
        [...r.calls.values()].reduce((a, b) => a + b, 0),
        percentile(r.ms, 50).toFixed(0),
        r.decisionMs.toFixed(2),
      ]),
    ),
    "",
    "The tick's time is almost all waiting on the APIs (here moto, which parses every request in Python and answers one at a time; DynamoDB and Auto Scaling answer in milliseconds); the decision itself is the last column.",
    "",
    "Calls per tick stay flat as the fleet grows: one DescribeAutoScalingGroups, one GetMetricData per 500 nodes, one registry Query per MB of node items, and the lease. Writes happen only for what changes: a CPU sample newer than the heartbeats' (the worst case above, one UpdateItem per node), an expired reservation, a decision. With agents reporting every 15 s, CloudWatch's 1-minute samples are older and the steady tick writes nothing.",
  ].join("\n");
  writeSection("scaler", body);
  console.log(body);
}

main().catch((error: Error) => {
  console.error(`bench:scaler failed: ${error.stack ?? error.message}`);
  process.exit(1);
});
