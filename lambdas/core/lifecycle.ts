/**
 * The group's lifecycle hooks, as the control plane answers them: the use case behind the
 * lifecycle Lambda (EventBridge on AWS), local mode's group and every in-process group.
 * - launching: the node's secret is issued, and the node is registered PENDING (its agent reports
 *   it ready later, which lets the launch continue);
 * - terminating (scale-in, health replacement, Spot, a person): the node is DEAD, its streams leave
 *   the registry, the termination continues, and its secret is withdrawn.
 * Each transition is recorded as a fleet event.
 */
import { type FleetDeps, markDead } from "./fleet";
import { type FleetEvent, pendingNode } from "./model";
import type { NodeCredentials } from "./ports";

/** A lifecycle hook that fired for one instance. */
export type LifecycleTransition =
  | { readonly kind: "launching"; readonly instanceId: string; readonly launchedAt: number }
  | { readonly kind: "terminating"; readonly instanceId: string };

/** What answering a lifecycle hook uses. */
export interface NodeLifecycleDeps extends FleetDeps {
  /** Per-node secrets handed out of band (AWS). Absent where a node gets its secret when it is started (local mode, simulator). */
  readonly credentials?: NodeCredentials;
}

/** How often a terminating node is read again when it changes under the DEAD write. */
const MARK_DEAD_ATTEMPTS = 5;

/** Registers a launching instance PENDING; a record that exists already is left as it is. */
async function registerLaunching(deps: FleetDeps, instanceId: string, launchedAt: number): Promise<FleetEvent> {
  const now = deps.now();
  const created = await deps.registry.createNode(
    // The group launches new instances protected; the agent reports the RTMP URL once nginx runs.
    pendingNode(instanceId, now, { launchedAt, rtmpBaseUrl: "", protectedFromScaleIn: true }),
  );
  return {
    at: now,
    kind: "launch",
    nodeId: instanceId,
    message: created ? `node ${instanceId} launching` : `node ${instanceId} launching (already registered)`,
  };
}

/** Declares a terminating instance's node DEAD (unless it is gone or DEAD already) and lets the termination continue. */
async function retireTerminating(deps: FleetDeps, instanceId: string): Promise<FleetEvent> {
  const now = deps.now();
  for (let attempt = 0; attempt < MARK_DEAD_ATTEMPTS; attempt++) {
    const node = await deps.registry.getNode(instanceId);
    if (!node || node.state === "DEAD" || (await markDead(deps.registry, node, now))) break;
  }
  await deps.fleet.completeTermination(instanceId);
  return { at: now, kind: "terminated", nodeId: instanceId, message: `node ${instanceId} terminating: DEAD` };
}

/** Answers one lifecycle hook; returns the fleet event it recorded. */
export async function onLifecycle(deps: NodeLifecycleDeps, transition: LifecycleTransition): Promise<FleetEvent> {
  const { instanceId } = transition;
  let event: FleetEvent;
  if (transition.kind === "launching") {
    await deps.credentials?.issue(instanceId);
    event = await registerLaunching(deps, instanceId, transition.launchedAt);
  } else {
    event = await retireTerminating(deps, instanceId);
    await deps.credentials?.revoke(instanceId);
  }
  await deps.registry.appendEvents([event]);
  return event;
}
