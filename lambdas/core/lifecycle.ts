/**
 * The group's lifecycle hooks, as the control plane answers them: the use case behind the
 * lifecycle Lambda (EventBridge on AWS), local mode's group and every in-process group.
 * - launching: the node is registered PENDING with a secret of its own, issued now (the node reads
 *   it out of band) and kept as a hash, and with the address the cloud gives its instance; its
 *   agent reports it ready later, which lets the launch continue. Registering is idempotent and
 *   safe to run twice at once (a repeated event, the scaler repairing a missed one): the node ends
 *   with one secret and one record. An instance that enters the group from the warm pool is such a
 *   launch, launched when it enters (fill order counts time in service, not time stopped).
 * - warming (launching into the warm pool, docs/ARCHITECTURE.md D17): nothing is registered and no
 *   secret issued; the instance prepares itself, completes its own launch action and is stopped.
 * - terminating (scale-in, health replacement, Spot, a person): the node is DEAD (which voids its
 *   credential), its streams leave the registry, the termination continues, and its secret is
 *   withdrawn.
 * Each transition is recorded as a fleet event.
 */
import { credentialHash, newNodeSecret } from "./credentials";
import { declareDead, type FleetDeps } from "./fleet";
import { type FleetEvent, pendingNode } from "./model";
import type { InstanceAddresses, NodeCredentials } from "./ports";

/** A lifecycle hook that fired for one instance. */
export type LifecycleTransition =
  | { readonly kind: "launching"; readonly instanceId: string; readonly launchedAt: number }
  | { readonly kind: "warming"; readonly instanceId: string }
  | { readonly kind: "terminating"; readonly instanceId: string };

/** What registering and retiring nodes uses. */
export interface NodeLifecycleDeps extends FleetDeps {
  /** Where each node's secret is handed to it. */
  readonly credentials: NodeCredentials;
  /** Where cameras reach each instance. */
  readonly addresses: InstanceAddresses;
}

/**
 * Registers an instance as a PENDING node: its secret issued (or the one issued already), its
 * address if the cloud has one yet (the scaler fills it in later otherwise). The scaler's next tick
 * gives it the CPU profile the fleet has learned to start from (`withFleetStart`): registration
 * reads no other node. A record that exists already keeps its state; a PENDING one takes the
 * issued secret's hash and the address.
 * @returns whether a record was created
 */
export async function registerNode(deps: NodeLifecycleDeps, instanceId: string, launchedAt: number): Promise<boolean> {
  const secret = await deps.credentials.issue(instanceId, newNodeSecret());
  const rtmpBaseUrl = (await deps.addresses.rtmpBaseUrl(instanceId)) ?? "";
  const now = deps.now();
  const fields = { launchedAt, rtmpBaseUrl, protectedFromScaleIn: true, credentialHash: credentialHash(secret) };
  // The group launches new instances protected.
  if (await deps.registry.createNode(pendingNode(instanceId, now, fields))) return true;
  await deps.registry.applyChange({
    nodeId: instanceId,
    when: { states: ["PENDING"] },
    set: { credentialHash: fields.credentialHash, ...(rtmpBaseUrl ? { rtmpBaseUrl } : {}) },
  });
  return false;
}

/** Registers a launching instance (see `registerNode`). */
async function registerLaunching(deps: NodeLifecycleDeps, instanceId: string, launchedAt: number): Promise<FleetEvent> {
  const created = await registerNode(deps, instanceId, launchedAt);
  return {
    at: deps.now(),
    kind: "launch",
    nodeId: instanceId,
    message: created ? `node ${instanceId} launching` : `node ${instanceId} launching (already registered)`,
  };
}

/** Declares a terminating instance's node DEAD (unless it is gone or DEAD already) and lets the termination continue. */
async function retireTerminating(deps: FleetDeps, instanceId: string): Promise<FleetEvent> {
  const now = deps.now();
  await declareDead(deps.registry, instanceId, now);
  await deps.fleet.completeTermination(instanceId);
  return { at: now, kind: "terminated", nodeId: instanceId, message: `node ${instanceId} terminating: DEAD` };
}

/** Answers one lifecycle hook; returns the fleet event it recorded. */
export async function onLifecycle(deps: NodeLifecycleDeps, transition: LifecycleTransition): Promise<FleetEvent> {
  const { instanceId } = transition;
  let event: FleetEvent;
  if (transition.kind === "launching") {
    event = await registerLaunching(deps, instanceId, transition.launchedAt);
  } else if (transition.kind === "warming") {
    // Its launch action is the instance's own to complete once prepared (or the hook abandons it).
    event = {
      at: deps.now(),
      kind: "warming",
      nodeId: instanceId,
      message: `instance ${instanceId} warming: not a node yet`,
    };
  } else {
    event = await retireTerminating(deps, instanceId);
    await deps.credentials.revoke(instanceId);
  }
  await deps.registry.appendEvents([event]);
  return event;
}
