/**
 * The lifecycle Lambda, fed by EventBridge with the group's lifecycle-hook events: it keeps its own
 * group's launch and terminate events and answers them with `onLifecycle` (`core/lifecycle.ts`
 * says what each does). An instance that never gets ready is abandoned by the launch hook's timeout.
 * A launch into the warm pool is `warming`; one out of it into the group is a launch like any other.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { EventBridgeEvent } from "aws-lambda";
import { LIFECYCLE } from "../contract";
import { type LifecycleTransition, type NodeLifecycleDeps, onLifecycle } from "../core/lifecycle";

/** The detail of a lifecycle-hook event. */
export interface LifecycleDetail {
  readonly AutoScalingGroupName: string;
  readonly LifecycleHookName: string;
  readonly EC2InstanceId: string;
  readonly LifecycleTransition: string;
  readonly LifecycleActionToken?: string;
  /** Where the instance comes from and goes to: `EC2`, `AutoScalingGroup` or `WarmPool` (groups with a warm pool). */
  readonly Origin?: string;
  readonly Destination?: string;
}

/** What the lifecycle Lambda uses. */
export interface LifecycleDeps extends NodeLifecycleDeps {
  readonly logger: Logger;
  /** The group this fleet owns: events of other groups are ignored. */
  readonly groupName: string;
}

/** The transition an EventBridge lifecycle-hook event reports, or undefined for an unexpected type. */
export function lifecycleTransition(
  event: EventBridgeEvent<string, LifecycleDetail>,
  now: number,
): LifecycleTransition | undefined {
  const instanceId = event.detail.EC2InstanceId;
  if (event["detail-type"] === LIFECYCLE.launchEvent) {
    if (event.detail.Destination === LIFECYCLE.warmPool) return { kind: "warming", instanceId };
    return { kind: "launching", instanceId, launchedAt: Date.parse(event.time) || now };
  }
  if (event["detail-type"] === LIFECYCLE.terminateEvent) return { kind: "terminating", instanceId };
  return undefined;
}

/** Handles one lifecycle event: answers `launching`, `warming`, `terminating` or `ignored`. */
export async function onLifecycleEvent(
  deps: LifecycleDeps,
  event: EventBridgeEvent<string, LifecycleDetail>,
): Promise<string> {
  const detail = event.detail;
  if (detail?.AutoScalingGroupName !== deps.groupName || !detail.EC2InstanceId) {
    deps.logger.warn("lifecycle event of another group or without an instance: ignored", { detail });
    return "ignored";
  }
  const transition = lifecycleTransition(event, deps.now());
  if (!transition) {
    deps.logger.warn("unexpected event type: ignored", { detailType: event["detail-type"] });
    return "ignored";
  }
  const fleetEvent = await onLifecycle(deps, transition);
  deps.logger.info(fleetEvent.message, { fleetEvent });
  return transition.kind;
}

/** The lifecycle handler over the given dependencies. */
export function createLifecycleHandler(deps: LifecycleDeps) {
  return middy<EventBridgeEvent<string, LifecycleDetail>, string>()
    .use(injectLambdaContext(deps.logger, { resetKeys: true, logEvent: false }))
    .handler((event) => onLifecycleEvent(deps, event));
}
