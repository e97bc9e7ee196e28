/**
 * The lifecycle Lambda, fed by EventBridge with the group's lifecycle-hook events:
 * - launch: the node is registered PENDING and its secret is issued; its agent reports ready later,
 *   which continues the launch (an instance that never gets ready is abandoned by the hook's timeout);
 * - terminate (scale-in, health replacement, Spot, a person): the node is DEAD, its streams leave
 *   the registry, its secret is withdrawn, and the termination continues.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { EventBridgeEvent } from "aws-lambda";
import { LIFECYCLE } from "../contract";
import { type FleetDeps, onInstanceLaunching, onInstanceTerminating } from "../core/fleet";
import type { NodeCredentials } from "../core/ports";

/** The detail of a lifecycle-hook event. */
export interface LifecycleDetail {
  readonly AutoScalingGroupName: string;
  readonly LifecycleHookName: string;
  readonly EC2InstanceId: string;
  readonly LifecycleTransition: string;
  readonly LifecycleActionToken?: string;
}

/** What the lifecycle Lambda uses. */
export interface LifecycleDeps extends FleetDeps {
  readonly credentials: NodeCredentials;
  readonly logger: Logger;
  /** The group this fleet owns: events of other groups are ignored. */
  readonly groupName: string;
}

/** Handles one lifecycle event. */
export async function onLifecycleEvent(
  deps: LifecycleDeps,
  event: EventBridgeEvent<string, LifecycleDetail>,
): Promise<string> {
  const detail = event.detail;
  if (detail?.AutoScalingGroupName !== deps.groupName || !detail.EC2InstanceId) {
    deps.logger.warn("lifecycle event of another group or without an instance: ignored", { detail });
    return "ignored";
  }
  const instanceId = detail.EC2InstanceId;
  if (event["detail-type"] === LIFECYCLE.launchEvent) {
    await deps.credentials.issue(instanceId);
    const fleetEvent = await onInstanceLaunching(deps, instanceId, Date.parse(event.time) || deps.now());
    await deps.registry.appendEvents([fleetEvent]);
    deps.logger.info(fleetEvent.message, { fleetEvent });
    return "launching";
  }
  if (event["detail-type"] === LIFECYCLE.terminateEvent) {
    const fleetEvent = await onInstanceTerminating(deps, instanceId);
    await deps.credentials.revoke(instanceId);
    await deps.registry.appendEvents([fleetEvent]);
    deps.logger.info(fleetEvent.message, { fleetEvent });
    return "terminating";
  }
  deps.logger.warn("unexpected event type: ignored", { detailType: event["detail-type"] });
  return "ignored";
}

/** The lifecycle handler over the given dependencies. */
export function createLifecycleHandler(deps: LifecycleDeps) {
  return middy<EventBridgeEvent<string, LifecycleDetail>, string>()
    .use(injectLambdaContext(deps.logger, { resetKeys: true, logEvent: false }))
    .handler((event) => onLifecycleEvent(deps, event));
}
