/**
 * A media-node fleet in moto for integration tests: a real Auto Scaling group (and its EC2
 * instances), CloudWatch CPU data, the DynamoDB registry, and simulated node agents and cameras
 * that go through the same core functions as the Lambdas.
 */
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  CreateLaunchConfigurationCommand,
  DescribeAutoScalingGroupsCommand,
} from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { AsgFleet } from "../../lambdas/adapters/asg-fleet";
import { CloudWatchMetrics } from "../../lambdas/adapters/cloudwatch-metrics";
import type { DynamoRegistry } from "../../lambdas/adapters/dynamo-registry";
import type { FleetConfig } from "../../lambdas/core/config";
import { recordHeartbeat } from "../../lambdas/core/heartbeat";
import { heldStreams, type MediaNode } from "../../lambdas/core/model";
import type { ScalerDeps } from "../../lambdas/core/scaler";
import { endStream, publishStream, resolveStream } from "../../lambdas/core/streams";
import { TestClock } from "./builders";
import { freshDynamoRegistry } from "./registry-table";

/**
 * The AWS group adapter, minus lifecycle-hook completion: moto implements neither lifecycle hooks
 * nor CompleteLifecycleAction; its instances go straight to InService and terminate at once, so
 * there is never an action to complete. Everything else is the real adapter against moto's API.
 */
class MotoAsgFleet extends AsgFleet {
  override async completeLaunch(): Promise<void> {}
  override async completeTermination(): Promise<void> {}
}

let groups = 0;

/** A fresh fleet in moto (AWS_ENDPOINT_URL must point at it). */
export async function motoFleet(config: FleetConfig, options: { max?: number } = {}) {
  const autoscaling = new AutoScalingClient({});
  const cloudwatch = new CloudWatchClient({});
  const groupName = `media-nodes-${process.pid}-${++groups}`;
  await autoscaling.send(
    new CreateLaunchConfigurationCommand({
      LaunchConfigurationName: groupName,
      ImageId: "ami-12c6146b",
      InstanceType: "c6i.large",
    }),
  );
  await autoscaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: groupName,
      LaunchConfigurationName: groupName,
      MinSize: 0,
      MaxSize: options.max ?? config.maxNodes,
      DesiredCapacity: 0,
      AvailabilityZones: ["us-east-1a"],
      NewInstancesProtectedFromScaleIn: true,
    }),
  );
  const { registry } = await freshDynamoRegistry("fleet");
  const fleet = new MotoAsgFleet(autoscaling, { groupName, launchHookName: "launch", terminateHookName: "terminate" });
  const clock = new TestClock(Date.now());
  const deps: ScalerDeps = {
    registry,
    fleet,
    metrics: new CloudWatchMetrics(cloudwatch),
    config,
    now: clock.now,
    owner: "scaler-1",
  };
  return new MotoFleetHarness(deps, registry, autoscaling, cloudwatch, groupName, clock);
}

/** Drives a moto fleet: cameras, agents, CPU datapoints, and views of the group. */
export class MotoFleetHarness {
  /** Agents that no longer report (their node "crashed"). */
  readonly silenced = new Set<string>();
  private clientIds = 0;

  constructor(
    readonly deps: ScalerDeps,
    readonly registry: DynamoRegistry,
    private readonly autoscaling: AutoScalingClient,
    private readonly cloudwatch: CloudWatchClient,
    readonly groupName: string,
    readonly clock: TestClock,
  ) {}

  /** The group's instances as moto reports them. */
  async instances() {
    const out = await this.autoscaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [this.groupName] }),
    );
    const group = out.AutoScalingGroups?.[0];
    return { desired: group?.DesiredCapacity ?? 0, instances: group?.Instances ?? [] };
  }

  /**
   * Every running instance's agent reports: ready, and the streams live on it; CloudWatch gets the
   * instance's CPU datapoint. `agentCpu` false leaves CPU out of the heartbeat: CloudWatch alone has it.
   */
  async heartbeats(
    cpu: (nodeId: string, streams: number) => number = (_, streams) => 5 + streams,
    agentCpu = true,
  ): Promise<void> {
    for (const instance of (await this.instances()).instances) {
      const nodeId = instance.InstanceId as string;
      if (this.silenced.has(nodeId) || instance.LifecycleState !== "InService") continue;
      const node = await this.registry.getNode(nodeId);
      const streams = Object.entries(node?.streams ?? {})
        .filter(([, slot]) => slot.state === "LIVE")
        .map(([name, slot]) => ({ name, clientId: slot.clientId as string }));
      const percent = Math.min(100, cpu(nodeId, streams.length));
      await recordHeartbeat(this.deps, {
        nodeId,
        rtmpBaseUrl: `rtmp://${nodeId}.test:1935/live`,
        ready: true,
        cpuPercent: agentCpu ? percent : undefined,
        streams,
      });
      await this.cloudwatch.send(
        new PutMetricDataCommand({
          Namespace: "AWS/EC2",
          MetricData: [
            {
              MetricName: "CPUUtilization",
              Dimensions: [{ Name: "InstanceId", Value: nodeId }],
              Timestamp: new Date(this.clock.ms - 60_000),
              Value: percent,
              Unit: "Percent",
            },
          ],
        }),
      );
    }
  }

  /** A camera: resolve, then publish where it was sent. Returns its node, or why it was refused. */
  async camera(stream: string): Promise<string> {
    const placed = await resolveStream(this.deps, stream);
    if (placed.kind !== "placed") return placed.kind;
    const outcome = await publishStream(this.deps, {
      nodeId: placed.stream.nodeId,
      stream,
      clientId: String(++this.clientIds),
    });
    return outcome.kind === "allowed" ? placed.stream.nodeId : outcome.reason;
  }

  /** A camera stops: its node reports the publisher's end. */
  async stop(stream: string): Promise<void> {
    const node = (await this.registry.listNodes({ consistent: true })).find((n) => n.streams[stream]?.state === "LIVE");
    const clientId = node?.streams[stream]?.clientId;
    if (node && clientId) await endStream(this.deps, { nodeId: node.nodeId, stream, clientId });
  }

  /** Nodes that hold live streams, by id. */
  async carrying(): Promise<Map<string, MediaNode>> {
    const nodes = await this.registry.listNodes({ consistent: true });
    return new Map(nodes.filter((n) => heldStreams(n, this.clock.ms).length > 0).map((n) => [n.nodeId, n]));
  }
}
