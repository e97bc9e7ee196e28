/** Telemetry: CloudWatch metrics through Powertools (embedded metric format) on AWS, counters in memory locally. */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { METRIC_NAMESPACE, NODE_ID_DIMENSION } from "../contract";
import type { Telemetry } from "../core/ports";

/** Telemetry as CloudWatch metrics, written as structured log lines (no API call). */
export class PowertoolsTelemetry implements Telemetry {
  readonly metrics: Metrics;

  /** @param fleet the fleet's name: the `service` dimension of every metric */
  constructor(fleet: string) {
    this.metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: fleet });
  }

  count(name: string, value = 1): void {
    this.metrics.addMetric(name, MetricUnit.Count, value);
  }

  gauge(name: string, value: number, nodeId?: string): void {
    if (nodeId === undefined) {
      this.metrics.addMetric(name, MetricUnit.Count, value);
      return;
    }
    const single = this.metrics.singleMetric();
    single.addDimension(NODE_ID_DIMENSION, nodeId);
    single.addMetric(name, MetricUnit.Percent, value);
  }

  flush(): void {
    this.metrics.publishStoredMetrics();
  }
}

/** Telemetry kept in this process: totals of the counters and the latest gauges (local mode's status page). */
export class MemoryTelemetry implements Telemetry {
  readonly counters = new Map<string, number>();
  readonly gauges = new Map<string, number>();

  count(name: string, value = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + value);
  }

  gauge(name: string, value: number, nodeId?: string): void {
    this.gauges.set(nodeId === undefined ? name : `${name}:${nodeId}`, value);
  }

  flush(): void {}
}
