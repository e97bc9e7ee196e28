/**
 * The fleet's dashboard, one row per question an operator asks: how many nodes, how hot, how
 * many streams and refusals, what the scaler did, how the Lambdas and the API fare, which alarms
 * fire. Also `fleetMetric`, the control plane's metrics as the alarms and the dashboard read them.
 */
import { Duration } from "aws-cdk-lib";
import type { HttpApi } from "aws-cdk-lib/aws-apigatewayv2";
import {
  type Alarm,
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type GraphWidgetProps,
  type IMetric,
  type IWidget,
  MathExpression,
  Metric,
  TextWidget,
} from "aws-cdk-lib/aws-cloudwatch";
import type { Construct } from "constructs";
import { METRIC, METRIC_NAMESPACE, NODE_ID_DIMENSION } from "../lambdas/contract";
import type { FleetConfig } from "../lambdas/core/config";
import type { FleetFunctions } from "./control-plane-functions";
import type { FleetNames } from "./fleet-names";

/** A metric of the control plane (namespace RtmpFleet, dimension service = the fleet's name). */
export function fleetMetric(
  fleetName: string,
  name: string,
  statistic: "Sum" | "Maximum",
  period = Duration.minutes(1),
): Metric {
  return new Metric({
    namespace: METRIC_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: fleetName },
    statistic,
    period,
    label: name,
  });
}

/** Props of `FleetDashboard`. */
export interface FleetDashboardProps {
  /** The fleet's name (the metrics' `service`, the dashboard's and alarms' names) and the group's. */
  readonly names: FleetNames;
  /** The validated policy: the summary and the alarms quote it, the CPU graphs mark its threshold. */
  readonly fleetConfig: FleetConfig;
  /** The Lambdas, by entry point. */
  readonly functions: FleetFunctions;
  readonly api: HttpApi;
  /** The alarms the status widget shows. */
  readonly alarms: readonly Alarm[];
}

const MINUTE = Duration.minutes(1);

/** A half-width graph of per-minute points. */
function graph(title: string, left: IMetric[], extra: Partial<GraphWidgetProps> = {}): GraphWidget {
  return new GraphWidget({ title, left, width: 12, height: 6, period: MINUTE, ...extra });
}

/** Builds the dashboard in the fleet's scope (see lib/rtmp-fleet.ts for why not a child construct). */
export class FleetDashboard {
  public readonly dashboard: Dashboard;

  constructor(
    scope: Construct,
    private readonly props: FleetDashboardProps,
  ) {
    this.dashboard = new Dashboard(scope, "Dashboard", {
      dashboardName: `${props.names.fleetName}-fleet`,
      defaultInterval: Duration.hours(3),
    });
    const rows = [
      this.summaryRow(),
      this.nodesRow(),
      this.cpuRow(),
      this.camerasRow(),
      this.actionsRow(),
      this.lambdasRow(),
      this.apiRow(),
    ];
    for (const row of rows) this.dashboard.addWidgets(...row);
  }

  private metric(name: string, statistic: "Sum" | "Maximum"): Metric {
    return fleetMetric(this.props.names.fleetName, name, statistic);
  }

  /** The policy in one sentence. */
  private summaryRow(): IWidget[] {
    const { names, fleetConfig } = this.props;
    return [
      new TextWidget({
        markdown:
          `# ${names.fleetName}\nCameras fill nodes in order; a node is full at ${fleetConfig.cpuThresholdPercent}% CPU. ` +
          `Fleet: ${fleetConfig.minNodes} to ${fleetConfig.maxNodes} nodes, ${fleetConfig.bufferNodes} spare.`,
        width: 24,
        height: 2,
      }),
    ];
  }

  /** The nodes by the registry's state beside the group's instances. */
  private nodesRow(): IWidget[] {
    const groupMetric = (name: string, label: string) =>
      new Metric({
        namespace: "AWS/AutoScaling",
        metricName: name,
        dimensionsMap: { AutoScalingGroupName: this.props.names.groupName },
        statistic: "Maximum",
        period: MINUTE,
        label,
      });
    return [
      graph(
        "Nodes by state",
        [METRIC.nodesActive, METRIC.nodesPending, METRIC.nodesDraining, METRIC.nodesSilent].map((name) =>
          this.metric(name, "Maximum"),
        ),
        { stacked: true },
      ),
      graph("Group instances", [
        groupMetric("GroupInServiceInstances", "in service"),
        groupMetric("GroupPendingInstances", "pending"),
        groupMetric("GroupTerminatingInstances", "terminating"),
        groupMetric("GroupDesiredCapacity", "desired"),
      ]),
    ];
  }

  /**
   * Each node's CPU as placement reads it (its agent's: the nginx worker's core), against the
   * threshold; and EC2's whole-instance CPU, for the rest of the machine. EC2's figure is in percent
   * of all the vCPUs (on 2 vCPUs a worker at 100% reads about 50%), so the threshold is not marked
   * on it: it is not the quantity the threshold is defined on.
   */
  private cpuRow(): IWidget[] {
    const { names, fleetConfig } = this.props;
    const percent = { leftYAxis: { min: 0, max: 100 } };
    const perNode = new MathExpression({
      expression:
        `SEARCH('{${METRIC_NAMESPACE},${NODE_ID_DIMENSION},service} MetricName="${METRIC.nodeCpu}" ` +
        `service="${names.fleetName}"', 'Maximum', 60)`,
      usingMetrics: {},
      label: "",
      period: MINUTE,
    });
    const ec2 = (statistic: string) =>
      new Metric({
        namespace: "AWS/EC2",
        metricName: "CPUUtilization",
        dimensionsMap: { AutoScalingGroupName: names.groupName },
        statistic,
        period: MINUTE,
        label: statistic.toLowerCase(),
      });
    return [
      graph("Node CPU as placement reads it (nginx worker, % of one core)", [perNode], {
        ...percent,
        leftAnnotations: [{ value: fleetConfig.cpuThresholdPercent, label: "node full at" }],
      }),
      graph(
        "Instance CPU, whole machine (EC2 CPUUtilization, % of all vCPUs): not what placement uses",
        ["Average", "Maximum"].map(ec2),
        percent,
      ),
    ];
  }

  /** Live and reserved streams; resolves, and those refused for lack of room. */
  private camerasRow(): IWidget[] {
    return [
      graph("Streams", [this.metric(METRIC.streamsLive, "Maximum"), this.metric(METRIC.streamsReserved, "Maximum")]),
      graph("Resolves and 503s (no room)", [
        this.metric(METRIC.resolves, "Sum"),
        this.metric(METRIC.resolveNoCapacity, "Sum"),
      ]),
    ];
  }

  /** What the scaler did, and what the nodes reported. */
  private actionsRow(): IWidget[] {
    const sums = (names: string[]) => names.map((name) => this.metric(name, "Sum"));
    return [
      graph("Scale actions", [
        ...sums([METRIC.scaleOut, METRIC.drained, METRIC.terminated, METRIC.dead, METRIC.scalerErrors]),
        this.metric(METRIC.silenceBreakerOpen, "Maximum"),
      ]),
      graph(
        "Callbacks and heartbeats",
        sums([
          METRIC.publishAllowed,
          METRIC.publishDenied,
          METRIC.streamsEnded,
          METRIC.heartbeats,
          METRIC.nodeWritesRefused,
          METRIC.viewersAdmitted,
          METRIC.viewersRefused,
        ]),
      ),
    ];
  }

  /** Each Lambda's errors and p99 duration. */
  private lambdasRow(): IWidget[] {
    const fns = Object.values(this.props.functions);
    return [
      graph(
        "Lambda errors",
        fns.map((fn) => fn.function.metricErrors({ label: fn.node.id, period: MINUTE, statistic: "Sum" })),
      ),
      graph(
        "Lambda duration p99 (ms)",
        fns.map((fn) => fn.function.metricDuration({ label: fn.node.id, period: MINUTE, statistic: "p99" })),
      ),
    ];
  }

  /** The API's requests and errors, beside the alarms' states. */
  private apiRow(): IWidget[] {
    const { api, alarms } = this.props;
    return [
      graph("API requests and errors", [
        api.metricCount({ label: "requests", period: MINUTE, statistic: "Sum" }),
        api.metricClientError({ label: "4xx", period: MINUTE, statistic: "Sum" }),
        api.metricServerError({ label: "5xx", period: MINUTE, statistic: "Sum" }),
      ]),
      new AlarmStatusWidget({ title: "Alarms", alarms: [...alarms], width: 12, height: 6 }),
    ];
  }
}
