/**
 * What tells an operator the fleet is unwell: an SNS topic (with an optional email subscription),
 * alarms that notify it on ALARM and on OK, and the dashboard (lib/fleet-dashboard.ts).
 */
import { Duration } from "aws-cdk-lib";
import {
  Alarm,
  ComparisonOperator,
  type Dashboard,
  type IMetric,
  MathExpression,
  type Metric,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { Table } from "aws-cdk-lib/aws-dynamodb";
import { Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { Construct } from "constructs";
import { METRIC } from "../lambdas/contract";
import { FleetDashboard, type FleetDashboardProps, fleetMetric } from "./fleet-dashboard";

/** Props of `FleetMonitoring`. */
export interface FleetMonitoringProps extends Omit<FleetDashboardProps, "alarms"> {
  /** The registry, whose throttling raises an alarm. */
  readonly table: Table;
  /**
   * An email address subscribed to the alarm topic.
   * @default no subscription
   */
  readonly alarmEmail?: string;
}

/** What an alarm watches and when it fires; it fires after `evaluationPeriods` breaching periods in a row. */
interface FleetAlarmProps {
  readonly metric: IMetric;
  readonly threshold: number;
  readonly evaluationPeriods: number;
  /** What went wrong, in the operator's words: the notification's text. */
  readonly description: string;
  /** @default GREATER_THAN_OR_EQUAL_TO_THRESHOLD */
  readonly comparisonOperator?: ComparisonOperator;
  /** @default NOT_BREACHING */
  readonly treatMissingData?: TreatMissingData;
}

const FIVE_MINUTES = Duration.minutes(5);

/** Builds the topic, alarms and dashboard in the fleet's scope (see lib/rtmp-fleet.ts for why not a child construct). */
export class FleetMonitoring {
  /** Where the alarms notify. */
  public readonly alarmTopic: Topic;
  /** Every alarm, each notifying `alarmTopic`. */
  public readonly alarms: readonly Alarm[];
  public readonly dashboard: Dashboard;

  constructor(
    private readonly scope: Construct,
    private readonly props: FleetMonitoringProps,
  ) {
    this.alarmTopic = new Topic(scope, "AlarmTopic", {
      displayName: `${props.names.fleetName} alarms`,
      enforceSSL: true,
    });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.alarms = [...this.lambdaAlarms(), ...this.apiAlarms(), ...this.fleetHealthAlarms()];
    this.dashboard = new FleetDashboard(scope, { ...props, alarms: this.alarms }).dashboard;
  }

  /** An alarm named after the fleet, notifying the topic when it fires and when it clears. */
  private alarm(id: string, props: FleetAlarmProps): Alarm {
    const alarm = new Alarm(this.scope, id, {
      alarmName: `${this.props.names.fleetName}-${id}`,
      metric: props.metric,
      threshold: props.threshold,
      evaluationPeriods: props.evaluationPeriods,
      datapointsToAlarm: props.evaluationPeriods,
      comparisonOperator: props.comparisonOperator ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: props.treatMissingData ?? TreatMissingData.NOT_BREACHING,
      alarmDescription: props.description,
    });
    alarm.addAlarmAction(new SnsAction(this.alarmTopic));
    alarm.addOkAction(new SnsAction(this.alarmTopic));
    return alarm;
  }

  private metric(name: string, statistic: "Sum" | "Maximum", period?: Duration): Metric {
    return fleetMetric(this.props.names.fleetName, name, statistic, period);
  }

  /** A Lambda failed, or the scaler stopped running. */
  private lambdaAlarms(): Alarm[] {
    const { functions } = this.props;
    const errors = Object.entries(functions).map(([entry, fn]) =>
      this.alarm(`${fn.node.id}Errors`, {
        metric: fn.function.metricErrors({ period: FIVE_MINUTES, statistic: "Sum" }),
        threshold: 1,
        evaluationPeriods: 1,
        description: `The ${entry} Lambda failed (crash or timeout): see its log group ${fn.logGroup.logGroupName}.`,
      }),
    );
    const scalerNotRunning = this.alarm("ScalerNotRunning", {
      metric: functions.scaler.function.metricInvocations({ period: FIVE_MINUTES, statistic: "Sum" }),
      threshold: 1,
      evaluationPeriods: 2,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: TreatMissingData.BREACHING,
      description: "The scaler has not run for 10 minutes (it runs every minute): nodes are neither added nor removed.",
    });
    return [...errors, scalerNotRunning];
  }

  /** Cameras refused for lack of room, and the API's other server errors. */
  private apiAlarms(): Alarm[] {
    const noCapacitySustained = this.alarm("NoCapacitySustained", {
      metric: this.metric(METRIC.resolveNoCapacity, "Sum"),
      threshold: 1,
      evaluationPeriods: 10,
      description:
        `Cameras have been refused (503, no room) every minute for 10 minutes: the group may be at maxNodes ` +
        `(${this.props.fleetConfig.maxNodes}) or nodes fail to boot.`,
    });
    const serverErrors = this.props.api.metricServerError({ period: FIVE_MINUTES, statistic: "Sum" });
    const noCapacity = this.metric(METRIC.resolveNoCapacity, "Sum", FIVE_MINUTES);
    const api5xx = this.alarm("Api5xx", {
      metric: new MathExpression({
        expression: "FILL(serverErrors, 0) - FILL(noCapacity, 0)",
        usingMetrics: { serverErrors, noCapacity },
        period: FIVE_MINUTES,
        label: "5xx other than no-capacity 503s",
      }),
      threshold: 5,
      evaluationPeriods: 1,
      description: "The API answered 5xx (other than the no-capacity 503 of /resolve) at least 5 times in 5 minutes.",
    });
    return [noCapacitySustained, api5xx];
  }

  /** The registry throttled, the scaler's steps failing, a node dead. */
  private fleetHealthAlarms(): Alarm[] {
    const { table } = this.props;
    const registryThrottled = this.alarm("RegistryThrottled", {
      metric: new MathExpression({
        expression: "FILL(readThrottles, 0) + FILL(writeThrottles, 0)",
        usingMetrics: {
          readThrottles: table.metric("ReadThrottleEvents", { period: FIVE_MINUTES, statistic: "Sum" }),
          writeThrottles: table.metric("WriteThrottleEvents", { period: FIVE_MINUTES, statistic: "Sum" }),
        },
        period: FIVE_MINUTES,
        label: "registry throttle events",
      }),
      threshold: 1,
      evaluationPeriods: 1,
      description: "DynamoDB throttled the registry table.",
    });
    const scalerStepsFailing = this.alarm("ScalerStepsFailing", {
      metric: this.metric(METRIC.scalerErrors, "Sum", FIVE_MINUTES),
      threshold: 3,
      evaluationPeriods: 2,
      description:
        "Scaler steps failed (an Auto Scaling or registry call refused) in 2 periods of 5 minutes running: each run retries, but the fleet is not following its policy.",
    });
    const nodesDead = this.alarm("NodesDead", {
      metric: this.metric(METRIC.dead, "Sum", FIVE_MINUTES),
      threshold: 1,
      evaluationPeriods: 1,
      description:
        "A media node was declared dead: its instance left the group, or it fell silent and its machine is gone (EC2, CloudWatch NetworkIn) or it carried nothing. Its cameras must re-resolve.",
    });
    const nodesSilent = this.alarm("NodesSilent", {
      metric: this.metric(METRIC.nodesSilent, "Maximum", FIVE_MINUTES),
      threshold: 1,
      evaluationPeriods: 1,
      description:
        "A media node carrying streams stopped sending heartbeats, but nothing says its machine is gone: it is kept SILENT (out of placement, protected, never terminated for silence). Look at its agent and the path to the API (shim, API throttling, the heartbeat Lambda). It returns to service with its next heartbeat.",
    });
    const breakerOpen = this.alarm("SilenceBreakerOpen", {
      metric: this.metric(METRIC.silenceBreakerOpen, "Maximum", FIVE_MINUTES),
      threshold: 1,
      evaluationPeriods: 1,
      description:
        "Many media nodes fell silent together: the control plane is blamed (API throttled, heartbeat Lambda broken, DynamoDB or Secrets Manager unavailable). Nothing is terminated for silence until they report again.",
    });
    const nodeWritesRefused = this.alarm("NodeWritesRefused", {
      metric: this.metric(METRIC.nodeWritesRefused, "Sum", FIVE_MINUTES),
      threshold: 1,
      evaluationPeriods: 1,
      description:
        "The registry refused to change a node's record (not a lost race: DynamoDB's item size limit): resolve passes the node over, so fill order bends around it. Its log line names the node.",
    });
    return [registryThrottled, scalerStepsFailing, nodesDead, nodesSilent, breakerOpen, nodeWritesRefused];
  }
}
