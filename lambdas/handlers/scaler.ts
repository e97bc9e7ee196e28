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
import { runScalerTick, type ScalerDeps, type TickReport } from "../core/scaler";

/** What the scaler Lambda uses; `owner` comes from each invocation. */
export type ScalerHandlerDeps = Omit<ScalerDeps, "owner"> & {
  readonly logger: Logger;
  /** Waits this long (ms); injected so tests need not wait. */
  readonly sleep?: (ms: number) => Promise<void>;
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

/** The scaler handler over the given dependencies. */
export function createScalerHandler(deps: ScalerHandlerDeps) {
  return middy<ScalerEvent, { ran: boolean; actions: number }>()
    .use(injectLambdaContext(deps.logger, { resetKeys: true }))
    .handler(async (event: ScalerEvent, context: Context) => {
      const report = await scalerRun(deps, event ?? {}, context.awsRequestId);
      if (!report.ran) {
        deps.logger.info("another scaler run holds the lease: nothing done", { event });
        return { ran: false, actions: 0 };
      }
      for (const fleetEvent of report.events) deps.logger.info(fleetEvent.message, { fleetEvent });
      deps.logger.info("scaler run", { trigger: event?.source ?? "schedule", summary: report.plan?.summary });
      return { ran: true, actions: report.events.length };
    });
}
