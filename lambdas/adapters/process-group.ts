/**
 * An Auto Scaling group modelled in this process, for local mode (whose instances are nginx
 * processes) and the simulator (whose instances are simulated machines). It follows the EC2 Auto
 * Scaling semantics the scaler relies on: a desired capacity that the group converges to, new
 * instances launched protected from scale-in, lifecycle hooks that hold a launching instance in
 * `Pending:Wait` and a terminating one in `Terminating:Wait` until they are completed, and a
 * scale-in (lower desired capacity) that never picks a protected instance.
 */

import type { GroupInstance, GroupState } from "../core/group";
import type { FleetPort } from "../core/ports";

/** Starts and stops the machines behind the instances. */
export interface InstanceLauncher {
  /** Starts the instance's machine; its agent reports ready later. */
  start(instanceId: string): Promise<void>;
  /** Stops it for good. */
  stop(instanceId: string): Promise<void>;
}

/** The lifecycle hooks: what the group tells the control plane (EventBridge on AWS). */
export interface GroupHooks {
  launching(instanceId: string, at: number): Promise<void>;
  terminating(instanceId: string): Promise<void>;
}

/** How the group is set up. */
export interface ProcessGroupOptions {
  readonly min: number;
  readonly max: number;
  /** @default min */
  readonly desired?: number;
  readonly launcher: InstanceLauncher;
  readonly hooks: GroupHooks;
  /** Instance ids are this prefix and a counter. @default "local-" */
  readonly idPrefix?: string;
  /**
   * An instance not ready within this time of its launch, or of its last `extendLaunch`, is
   * abandoned (the launch hook's heartbeat timeout). @default 600000
   */
  readonly launchTimeoutMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Called on every change of an instance's lifecycle state, for logs and views. */
  readonly onChange?: (instanceId: string, lifecycleState: string) => void;
}

interface Instance {
  instanceId: string;
  lifecycleState: string;
  protectedFromScaleIn: boolean;
  launchedAt: number;
  /** When the launch hook's timeout last started: at launch, and at each `extendLaunch`. */
  launchWaitFrom: number;
}

/** A group of instances in this process, implementing the same `FleetPort` as the AWS group. */
export class ProcessGroup implements FleetPort {
  private readonly instances = new Map<string, Instance>();
  private desired: number;
  private counter = 0;
  private readonly now: () => number;
  private converging: Promise<void> = Promise.resolve();

  constructor(private readonly options: ProcessGroupOptions) {
    this.desired = options.desired ?? options.min;
    this.now = options.now ?? Date.now;
  }

  async describe(): Promise<GroupState> {
    return {
      desired: this.desired,
      min: this.options.min,
      max: this.options.max,
      instances: [...this.instances.values()].map(
        (i): GroupInstance => ({
          instanceId: i.instanceId,
          lifecycleState: i.lifecycleState,
          protectedFromScaleIn: i.protectedFromScaleIn,
        }),
      ),
    };
  }

  /** The instances' ids and states, oldest first. */
  list(): readonly Readonly<Instance>[] {
    return [...this.instances.values()];
  }

  async setDesiredCapacity(desired: number): Promise<void> {
    if (desired < this.options.min || desired > this.options.max) {
      throw new Error(`desired capacity ${desired} is outside the group's ${this.options.min}-${this.options.max}`);
    }
    this.desired = desired;
    await this.converge();
  }

  async setProtection(instanceIds: readonly string[], protectedFromScaleIn: boolean): Promise<void> {
    for (const id of instanceIds) {
      const instance = this.instances.get(id);
      if (!instance) throw new Error(`instance ${id} is not in the group`);
      instance.protectedFromScaleIn = protectedFromScaleIn;
    }
  }

  async terminate(instanceId: string, decrement: boolean): Promise<void> {
    const instance = this.instances.get(instanceId);
    if (!instance || instance.lifecycleState.startsWith("Terminating")) {
      throw new Error(`instance ${instanceId} is not in service in the group`);
    }
    if (decrement) {
      if (this.desired - 1 < this.options.min) {
        throw new Error(`terminating ${instanceId} with a decrement would put the group below its minimum`);
      }
      this.desired--;
    }
    await this.beginTermination(instance);
    await this.converge();
  }

  async completeLaunch(instanceId: string, result: "CONTINUE" | "ABANDON"): Promise<void> {
    const instance = this.instances.get(instanceId);
    if (instance?.lifecycleState !== "Pending:Wait") return; // nothing waits: as on AWS, a no-op here
    if (result === "CONTINUE") this.setState(instance, "InService");
    else await this.beginTermination(instance);
  }

  async extendLaunch(instanceId: string): Promise<void> {
    const instance = this.instances.get(instanceId);
    if (instance?.lifecycleState === "Pending:Wait") instance.launchWaitFrom = this.now();
  }

  async completeTermination(instanceId: string): Promise<void> {
    const instance = this.instances.get(instanceId);
    if (instance?.lifecycleState !== "Terminating:Wait") return;
    this.setState(instance, "Terminating:Proceed");
    await this.options.launcher.stop(instanceId);
    this.instances.delete(instanceId);
    this.options.onChange?.(instanceId, "Terminated");
  }

  /**
   * Abandons launches that waited past the timeout (as the lifecycle hook does) and converges to
   * the desired capacity. Call it periodically.
   */
  async tick(): Promise<void> {
    const now = this.now();
    for (const instance of [...this.instances.values()]) {
      if (
        instance.lifecycleState === "Pending:Wait" &&
        now - instance.launchWaitFrom > (this.options.launchTimeoutMs ?? 600_000)
      ) {
        await this.beginTermination(instance);
      }
    }
    await this.converge();
  }

  /** Launches or scales in until the group holds the desired capacity (one convergence at a time). */
  converge(): Promise<void> {
    this.converging = this.converging.then(() => this.convergeNow());
    return this.converging;
  }

  private async convergeNow(): Promise<void> {
    const live = () => [...this.instances.values()].filter((i) => !i.lifecycleState.startsWith("Terminating"));
    while (live().length < this.desired) {
      const instance: Instance = {
        instanceId: `${this.options.idPrefix ?? "local-"}${++this.counter}`,
        lifecycleState: "Pending",
        protectedFromScaleIn: true,
        launchedAt: this.now(),
        launchWaitFrom: this.now(),
      };
      this.instances.set(instance.instanceId, instance);
      this.setState(instance, "Pending:Wait");
      await this.options.hooks.launching(instance.instanceId, instance.launchedAt);
      await this.options.launcher.start(instance.instanceId);
    }
    // The group's own scale-in: newest unprotected instance first, protected ones never.
    const excess = live().length - this.desired;
    const victims = live()
      .filter((i) => !i.protectedFromScaleIn)
      .sort((a, b) => b.launchedAt - a.launchedAt)
      .slice(0, Math.max(0, excess));
    for (const victim of victims) await this.beginTermination(victim);
  }

  private async beginTermination(instance: Instance): Promise<void> {
    this.setState(instance, "Terminating:Wait");
    await this.options.hooks.terminating(instance.instanceId);
  }

  private setState(instance: Instance, lifecycleState: string): void {
    instance.lifecycleState = lifecycleState;
    this.options.onChange?.(instance.instanceId, lifecycleState);
  }
}
