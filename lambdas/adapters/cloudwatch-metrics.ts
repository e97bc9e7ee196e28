/** Node CPU from CloudWatch's `AWS/EC2 CPUUtilization` (1-minute with detailed monitoring). */
import { type CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from "@aws-sdk/client-cloudwatch";
import { CPU_METRIC_PERIOD_MS, type CpuMetrics } from "../core/ports";

/** GetMetricData takes at most this many queries a call. */
export const METRIC_QUERIES_PER_CALL = 500;
/** How far back a sample is looked for (ms): older ones say nothing about now. */
export const CPU_LOOKBACK_MS = 10 * 60 * 1000;

/** A `CpuMetrics` over CloudWatch: every node in one call per 500. */
export class CloudWatchMetrics implements CpuMetrics {
  constructor(private readonly client: CloudWatchClient) {}

  async cpu(instanceIds: readonly string[], now: number): Promise<Map<string, { percent: number; at: number }>> {
    const samples = new Map<string, { percent: number; at: number }>();
    for (let i = 0; i < instanceIds.length; i += METRIC_QUERIES_PER_CALL) {
      const batch = instanceIds.slice(i, i + METRIC_QUERIES_PER_CALL);
      const queries: MetricDataQuery[] = batch.map((instanceId, index) => ({
        Id: `cpu${index}`,
        MetricStat: {
          Metric: {
            Namespace: "AWS/EC2",
            MetricName: "CPUUtilization",
            Dimensions: [{ Name: "InstanceId", Value: instanceId }],
          },
          Period: CPU_METRIC_PERIOD_MS / 1000,
          Stat: "Average",
        },
        ReturnData: true,
      }));
      let nextToken: string | undefined;
      do {
        const out = await this.client.send(
          new GetMetricDataCommand({
            MetricDataQueries: queries,
            StartTime: new Date(now - CPU_LOOKBACK_MS),
            EndTime: new Date(now),
            ScanBy: "TimestampDescending",
            NextToken: nextToken,
          }),
        );
        for (const result of out.MetricDataResults ?? []) {
          const instanceId = batch[Number(result.Id?.slice(3))];
          // A datapoint is stamped with the start of its period; it describes the period up to its end.
          const start = result.Timestamps?.[0]?.getTime();
          const at = start === undefined ? undefined : start + CPU_METRIC_PERIOD_MS;
          const percent = result.Values?.[0];
          // No datapoint, no sample: a decision never rests on missing data.
          if (instanceId === undefined || at === undefined || percent === undefined) continue;
          const known = samples.get(instanceId);
          if (!known || at > known.at) samples.set(instanceId, { percent, at });
        }
        nextToken = out.NextToken;
      } while (nextToken);
    }
    return samples;
  }
}
