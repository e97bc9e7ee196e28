/**
 * The media-node group as Auto Scaling (or an in-process group) reports it, and what its
 * instances' lifecycle states mean to the control plane.
 */

/** An instance as the Auto Scaling group (or the local fleet) reports it. */
export interface GroupInstance {
  readonly instanceId: string;
  /**
   * Auto Scaling lifecycle state: `Pending`, `Pending:Wait`, `Pending:Proceed`, `InService`,
   * `Terminating`, `Terminating:Wait`, `Terminating:Proceed`, `Terminated`, `Detaching`, ...
   */
  readonly lifecycleState: string;
  readonly protectedFromScaleIn: boolean;
}

/** The group as Auto Scaling (or the local fleet) reports it. */
export interface GroupState {
  readonly desired: number;
  readonly min: number;
  readonly max: number;
  readonly instances: readonly GroupInstance[];
}

const GONE_STATES = ["Terminating", "Terminated", "Detaching", "Detached", "Warmed"];

/** True when the instance is leaving or has left the group. */
export function instanceGone(instance: GroupInstance | undefined): boolean {
  return !instance || GONE_STATES.some((state) => instance.lifecycleState.startsWith(state));
}

/** True when the instance is in service (not booting, not leaving). */
export function instanceInService(instance: GroupInstance | undefined): boolean {
  return instance?.lifecycleState === "InService";
}

/** True while the instance waits in the launch lifecycle hook for its node to be ready. */
export function waitsInLaunchHook(instance: GroupInstance | undefined): boolean {
  return instance?.lifecycleState === "Pending:Wait";
}
