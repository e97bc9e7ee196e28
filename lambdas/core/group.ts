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
  /** True when Auto Scaling's health check found the instance unhealthy (it is about to replace it). */
  readonly unhealthy?: boolean;
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

/** Why the group itself says the instance's machine is gone or broken, or undefined. */
export function groupSaysGone(instance: GroupInstance | undefined): string | undefined {
  if (instanceGone(instance)) return "its instance left the group";
  if (instance?.unhealthy) return "Auto Scaling's health check found its instance unhealthy";
  return undefined;
}

/** True while the instance waits in the launch lifecycle hook for its node to be ready. */
export function waitsInLaunchHook(instance: GroupInstance | undefined): boolean {
  return instance?.lifecycleState === "Pending:Wait";
}
