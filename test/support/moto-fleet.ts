/**
 * A media-node fleet in moto for integration tests: a real Auto Scaling group (and its EC2
 * instances), CloudWatch and the DynamoDB registry, driven by the in-process fleet harness (the
 * same use cases as the Lambdas). What is moto's own is here: the group's creation, the
 * instances' CloudWatch CPU, agents that fall silent, views of the group.
 */
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  CreateLaunchConfigurationCommand,
  DescribeAutoScalingGroupsCommand,
} from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { EC2Client, StopInstancesCommand } from "@aws-sdk/client-ec2";
import { AsgFleet } from "../../lambdas/adapters/asg-fleet";
import { AwsMachineEvidence } from "../../lambdas/adapters/aws-machine-evidence";
import type { DynamoRegistry } from "../../lambdas/adapters/dynamo-registry";
import type { FleetConfig } from "../../lambdas/core/config";
import { onLifecycle } from "../../lambdas/core/lifecycle";
import { heldStreams, type MediaNode } from "../../lambdas/core/model";
import type { ScalerDeps, TickReport } from "../../lambdas/core/scaler-run";
import { FleetHarness, type HarnessDeps, nodeServices } from "../../sim/fleet-harness";
import { RecordingScaleOut, TestClock } from "./builders";
import { freshDynamoRegistry } from "./registry-table";

/**
 * The AWS group adapter, minus lifecycle actions: moto implements neither lifecycle hooks nor
 * CompleteLifecycleAction nor RecordLifecycleActionHeartbeat; its instances go straight to
 * InService and terminate at once, so there is never an action to complete or extend. Everything
 * else is the real adapter against moto's API.
 */
class MotoAsgFleet extends AsgFleet {
  override async completeLaunch(): Promise<void> {}
  override async completeTermination(): Promise<void> {}
  override async extendLaunch(): Promise<void> {}
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
  const deps: HarnessDeps = {
    registry,
    fleet,
    evidence: new AwsMachineEvidence(new EC2Client({}), cloudwatch),
    config,
    now: clock.now,
    owner: "scaler-1",
    scaleOut: new RecordingScaleOut(),
    ...nodeServices("test"),
  };
  return new MotoFleetHarness(deps, registry, autoscaling, cloudwatch, groupName, clock);
}

/** Drives a moto fleet: cameras, agents, CPU datapoints, and views of the group. */
export class MotoFleetHarness extends FleetHarness {
  /** Agents that no longer report: their machine crashed, or only their heartbeats are blocked. */
  readonly silenced = new Set<string>();
  /** Machines that crashed (a subset of `silenced`): the evidence port says so. */
  readonly crashed = new Set<string>();

  constructor(
    deps: HarnessDeps,
    readonly registry: DynamoRegistry,
    private readonly autoscaling: AutoScalingClient,
    private readonly cloudwatch: CloudWatchClient,
    readonly groupName: string,
    readonly clock: TestClock,
  ) {
    super(deps);
  }

  /**
   * One scaler run, then what EventBridge delivers on AWS: a launch event for each instance the group
   * started (moto has no lifecycle hooks), which the lifecycle use case registers.
   */
  override async tick(overrides: Partial<ScalerDeps> = {}): Promise<TickReport> {
    const report = await super.tick(overrides);
    const registered = new Set((await this.registry.listNodes({ consistent: true })).map((n) => n.nodeId));
    for (const instance of (await this.instances()).instances) {
      const instanceId = instance.InstanceId as string;
      if (registered.has(instanceId) || instance.LifecycleState !== "InService") continue;
      await onLifecycle(this.deps, { kind: "launching", instanceId, launchedAt: this.clock.ms });
    }
    return report;
  }

  /** The node's machine crashes: no more heartbeats, and EC2 says the instance is stopped. */
  async crash(nodeId: string): Promise<void> {
    this.silenced.add(nodeId);
    this.crashed.add(nodeId);
    await new EC2Client({}).send(new StopInstancesCommand({ InstanceIds: [nodeId] }));
  }

  /** The group's instances as moto reports them. */
  async instances() {
    const out = await this.autoscaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [this.groupName] }),
    );
    const group = out.AutoScalingGroups?.[0];
    return { desired: group?.DesiredCapacity ?? 0, instances: group?.Instances ?? [] };
  }

  /** Every running instance's agent reports: ready, its worker's CPU, and the streams live on it. */
  async heartbeats(cpu: (nodeId: string, streams: number) => number = (_, streams) => 5 + streams): Promise<void> {
    for (const instance of (await this.instances()).instances) {
      const nodeId = instance.InstanceId as string;
      if (this.silenced.has(nodeId) || instance.LifecycleState !== "InService") continue;
      const streams = await this.registeredStreams(nodeId);
      await this.heartbeat(nodeId, { cpuPercent: Math.min(100, cpu(nodeId, streams.length)), streams });
    }
  }

  /**
   * CloudWatch's `AWS/EC2 CPUUtilization` of the node's instance for the minute that ends now: the
   * whole instance, in percent of all its vCPUs, which the control plane must not read as its CPU.
   */
  async instanceCpu(nodeId: string, percent: number): Promise<void> {
    await this.cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: "AWS/EC2",
        MetricData: [
          {
            MetricName: "CPUUtilization",
            Dimensions: [{ Name: "InstanceId", Value: nodeId }],
            // Stamped with the start of its one-minute period, as CloudWatch does: it ends now.
            Timestamp: new Date(this.clock.ms - 60_000),
            Value: percent,
            Unit: "Percent",
          },
        ],
      }),
    );
  }

  /** Nodes that hold live streams, by id. */
  async carrying(): Promise<Map<string, MediaNode>> {
    const nodes = await this.registry.listNodes({ consistent: true });
    return new Map(nodes.filter((n) => heldStreams(n, this.clock.ms).length > 0).map((n) => [n.nodeId, n]));
  }
}
