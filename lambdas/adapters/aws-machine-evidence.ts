/**
 * Evidence, from outside a silent node, that its EC2 machine is gone: EC2's own word (the
 * instance is not running, or its status checks are impaired) and CloudWatch's `NetworkIn` (next
 * to nothing received over the silent window, which a node carrying cameras cannot do). None of
 * it depends on the node's heartbeats, the API they go through, or the registry.
 */
import { type CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from "@aws-sdk/client-cloudwatch";
import { DescribeInstanceStatusCommand, type EC2Client, type InstanceStatus } from "@aws-sdk/client-ec2";
import { type MachineEvidence, type MachineSign, NEAR_ZERO_BYTES_PER_SECOND, type SilentNode } from "../core/ports";

/** GetMetricData takes at most this many queries a call. */
const METRIC_QUERIES_PER_CALL = 500;
/** DescribeInstanceStatus takes at most this many instance ids a call. */
const STATUS_IDS_PER_CALL = 100;
/** NetworkIn's period with detailed monitoring (the launch template turns it on). */
const NETWORK_PERIOD_SECONDS = 60;
/**
 * Whole minutes of NetworkIn the silent window must hold before "no traffic" is believed:
 * CloudWatch publishes a minute late, and one quiet minute alone is too little to cut on.
 */
const NETWORK_MINUTES_NEEDED = 2;

/** A `MachineEvidence` over EC2 and CloudWatch. */
export class AwsMachineEvidence implements MachineEvidence {
  constructor(
    private readonly ec2: EC2Client,
    private readonly cloudwatch: CloudWatchClient,
  ) {}

  async gone(nodes: readonly SilentNode[], now: number): Promise<ReadonlyMap<string, MachineSign>> {
    const signs = new Map<string, MachineSign>(await this.instanceSigns(nodes.map((n) => n.nodeId)));
    const asked = nodes.filter((n) => !signs.has(n.nodeId));
    for (const [nodeId, sign] of await this.trafficSigns(asked, now)) signs.set(nodeId, sign);
    return signs;
  }

  /** What EC2 says of each instance: not running, or its system or instance status check impaired. */
  private async instanceSigns(instanceIds: readonly string[]): Promise<Map<string, MachineSign>> {
    const signs = new Map<string, MachineSign>();
    for (let i = 0; i < instanceIds.length; i += STATUS_IDS_PER_CALL) {
      const batch = instanceIds.slice(i, i + STATUS_IDS_PER_CALL);
      const statuses = await this.statuses(batch);
      const seen = new Set<string>();
      for (const status of statuses) {
        const id = status.InstanceId ?? "";
        seen.add(id);
        const state = status.InstanceState?.Name;
        if (state && state !== "running")
          signs.set(id, { kind: "machine", reason: `EC2 says the instance is ${state}` });
        else if (status.SystemStatus?.Status === "impaired" || status.InstanceStatus?.Status === "impaired") {
          signs.set(id, { kind: "machine", reason: "EC2's status checks say the instance is impaired" });
        }
      }
      // An instance EC2 no longer knows is gone.
      for (const id of batch)
        if (!seen.has(id)) signs.set(id, { kind: "machine", reason: "EC2 no longer knows the instance" });
    }
    return signs;
  }

  /**
   * EC2's status of the instances. EC2 refuses the whole call when one id is unknown (long
   * terminated): then each is asked alone, and an unknown one simply has no status.
   */
  private async statuses(instanceIds: readonly string[]): Promise<InstanceStatus[]> {
    const describe = async (ids: readonly string[]) =>
      (await this.ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [...ids], IncludeAllInstances: true })))
        .InstanceStatuses ?? [];
    try {
      return await describe(instanceIds);
    } catch (error) {
      if ((error as Error).name !== "InvalidInstanceID.NotFound") throw error;
    }
    const each = await Promise.all(
      instanceIds.map((id) =>
        describe([id]).catch((error: Error) => {
          if (error.name === "InvalidInstanceID.NotFound") return [];
          throw error;
        }),
      ),
    );
    return each.flat();
  }

  /** Nodes whose NetworkIn over their silent window averages below `NEAR_ZERO_BYTES_PER_SECOND`. */
  private async trafficSigns(nodes: readonly SilentNode[], now: number): Promise<Map<string, MachineSign>> {
    const signs = new Map<string, MachineSign>();
    for (let i = 0; i < nodes.length; i += METRIC_QUERIES_PER_CALL) {
      const batch = nodes.slice(i, i + METRIC_QUERIES_PER_CALL);
      const start = Math.min(...batch.map((n) => n.silentSince));
      const queries: MetricDataQuery[] = batch.map((node, index) => ({
        Id: `net${index}`,
        MetricStat: {
          Metric: {
            Namespace: "AWS/EC2",
            MetricName: "NetworkIn",
            Dimensions: [{ Name: "InstanceId", Value: node.nodeId }],
          },
          Period: NETWORK_PERIOD_SECONDS,
          Stat: "Sum",
        },
        ReturnData: true,
      }));
      const out = await this.cloudwatch.send(
        new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: new Date(start), EndTime: new Date(now) }),
      );
      for (const result of out.MetricDataResults ?? []) {
        const node = batch[Number(result.Id?.slice(3))];
        if (!node) continue;
        // Only the minutes that began once the node was already silent speak of its silence.
        const minutes = (result.Timestamps ?? [])
          .map((t, k) => ({ at: t.getTime(), bytes: result.Values?.[k] ?? 0 }))
          .filter((m) => m.at >= node.silentSince);
        if (minutes.length < NETWORK_MINUTES_NEEDED) continue;
        const received = minutes.reduce((sum, m) => sum + m.bytes, 0);
        const seconds = minutes.length * NETWORK_PERIOD_SECONDS;
        if (received / seconds < NEAR_ZERO_BYTES_PER_SECOND) {
          signs.set(node.nodeId, {
            kind: "traffic",
            reason: `CloudWatch counts ${received} bytes received in ${minutes.length} silent minutes`,
          });
        }
      }
    }
    return signs;
  }
}
