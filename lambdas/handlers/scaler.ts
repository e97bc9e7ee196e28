/**
 * The scaler Lambda: run every minute by an EventBridge schedule, and at once (asynchronously) by
 * a resolve that found no room. When another run holds the lease, an on-demand run waits for it
 * to finish rather than dropping the request, since that run may have read the fleet before the
 * camera was refused.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { METRIC } from "../contract";
import { followUp } from "../core/follow-ups";
import { pointIngest } from "../core/ingest";
import { heldStreams, slotOf } from "../core/model";
import type { IngestTarget, Telemetry } from "../core/ports";
import { runScalerTick, type ScalerDeps, type TickReport } from "../core/scaler-run";
import { flushTelemetry } from "./api";

/** What the scaler Lambda uses; `owner` comes from each invocation. */
export type ScalerHandlerDeps = Omit<ScalerDeps, "owner"> & {
  readonly logger: Logger;
  readonly telemetry: Telemetry;
  /** Waits this long (ms); injected so tests need not wait. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** The fixed ingest address's target, on fleets that have one: each run points it right. */
  readonly ingest?: IngestTarget;
};

/** How long an on-demand run waits for a running one, and how often it tries. */
export const ON_DEMAND_WAIT_MS = 20_000;
const ON_DEMAND_POLL_MS = 1000;

/** The event: a schedule tick, or a scale-out request from resolve. */
export interface ScalerEvent {
  readonly source?: string;
  readonly reason?: string;
}

/** Runs a tick; an on-demand request waits for a running tick to end. */
export async function scalerRun(deps: ScalerHandlerDeps, event: ScalerEvent, owner: string): Promise<TickReport> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  const onDemand = event.source === "resolve";
  const deadline = deps.now() + (onDemand ? ON_DEMAND_WAIT_MS : 0);
  for (;;) {
    const report = await runScalerTick({ ...deps, owner });
    if (report.ran || deps.now() >= deadline) return report;
    await sleep(ON_DEMAND_POLL_MS);
  }
}

/** Gauges of the fleet as the tick saw it, and counters of what it did, for the dashboard. */
export function recordTick(telemetry: Telemetry, report: TickReport, now: number): void {
  const nodes = report.nodes ?? [];
  const inState = (state: string) => nodes.filter((n) => n.state === state).length;
  telemetry.gauge(METRIC.nodesActive, inState("ACTIVE"));
  telemetry.gauge(METRIC.nodesPending, inState("PENDING"));
  telemetry.gauge(METRIC.nodesDraining, inState("DRAINING"));
  telemetry.gauge(METRIC.nodesSilent, report.plan?.summary.silent ?? inState("SILENT"));
  telemetry.gauge(METRIC.silenceBreakerOpen, report.plan?.summary.breakerOpen ? 1 : 0);
  const slots = nodes.flatMap((n) => heldStreams(n, now).map((name) => slotOf(n, name)?.state));
  telemetry.gauge(METRIC.streamsLive, slots.filter((s) => s === "LIVE").length);
  telemetry.gauge(METRIC.streamsReserved, slots.filter((s) => s === "RESERVED").length);
  for (const node of nodes) {
    if (node.cpu && node.state !== "DEAD") telemetry.gauge(METRIC.nodeCpu, node.cpu.percent, node.nodeId);
  }
  const plan = report.plan;
  if (plan?.desiredCapacity !== undefined) telemetry.count(METRIC.scaleOut);
  telemetry.count(METRIC.drained, plan?.drain.length ?? 0);
  telemetry.count(METRIC.dead, plan?.markDead.length ?? 0);
  telemetry.count(METRIC.terminated, report.events.filter((e) => e.kind === "terminated").length);
  telemetry.count(METRIC.scalerErrors, report.events.filter((e) => e.kind === "error").length);
}

/**
 * Points the fixed ingest address at the first node in fill order: what no slot change shows (a
 * node that became ACTIVE, a CPU sample that filled or freed one) and any move a hook missed.
 */
async function repairIngest(deps: ScalerHandlerDeps): Promise<void> {
  const { ingest } = deps;
  if (!ingest) return;
  let target: string | undefined;
  const [error] = await followUp(async () => {
    target = await pointIngest({ ...deps, ingest });
  });
  if (error) deps.logger.error("could not point the fixed ingest address; the next run tries again", { error });
  else deps.logger.info("fixed ingest address", { nodeId: target ?? null });
}

/** The scaler handler over the given dependencies. */
export function createScalerHandler(deps: ScalerHandlerDeps) {
  return middy<ScalerEvent, { ran: boolean; actions: number }>()
    .use(injectLambdaContext(deps.logger, { resetKeys: true, logEvent: false }))
    .use(flushTelemetry(deps.telemetry))
    .handler(async (event: ScalerEvent, context: Context) => {
      const report = await scalerRun(deps, event ?? {}, context.awsRequestId);
      if (!report.ran) {
        deps.logger.info("another scaler run holds the lease: nothing done", { event });
        return { ran: false, actions: 0 };
      }
      recordTick(deps.telemetry, report, deps.now());
      for (const fleetEvent of report.events) {
        if (fleetEvent.kind === "error") deps.logger.error(fleetEvent.message, { fleetEvent });
        else deps.logger.info(fleetEvent.message, { fleetEvent });
      }
      deps.logger.info("scaler run", { trigger: event?.source ?? "schedule", summary: report.plan?.summary });
      await repairIngest(deps);
      return { ran: true, actions: report.events.length };
    });
}
