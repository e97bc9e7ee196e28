/** The media-node group as an EC2 Auto Scaling group. */
import {
  type AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  RecordLifecycleActionHeartbeatCommand,
  SetDesiredCapacityCommand,
  SetInstanceProtectionCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import type { GroupState } from "../core/group";
import type { FleetPort } from "../core/ports";

/** SetInstanceProtection takes at most this many instance ids a call. */
export const PROTECTION_BATCH = 50;

/** The group's names: itself and its lifecycle hooks. */
export interface GroupNames {
  readonly groupName: string;
  readonly launchHookName: string;
  readonly terminateHookName: string;
}

/** A `FleetPort` over an Auto Scaling group. */
export class AsgFleet implements FleetPort {
  constructor(
    private readonly client: AutoScalingClient,
    private readonly names: GroupNames,
  ) {}

  async describe(): Promise<GroupState> {
    const out = await this.client.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [this.names.groupName] }),
    );
    const group = out.AutoScalingGroups?.[0];
    if (!group) throw new Error(`Auto Scaling group ${this.names.groupName} not found`);
    return {
      desired: group.DesiredCapacity ?? 0,
      min: group.MinSize ?? 0,
      max: group.MaxSize ?? 0,
      instances: (group.Instances ?? []).map((i) => ({
        instanceId: i.InstanceId ?? "",
        lifecycleState: i.LifecycleState ?? "",
        protectedFromScaleIn: i.ProtectedFromScaleIn ?? false,
        unhealthy: i.HealthStatus === "Unhealthy",
      })),
    };
  }

  async setDesiredCapacity(desired: number): Promise<void> {
    await this.client.send(
      new SetDesiredCapacityCommand({
        AutoScalingGroupName: this.names.groupName,
        DesiredCapacity: desired,
        HonorCooldown: false,
      }),
    );
  }

  async setProtection(instanceIds: readonly string[], protectedFromScaleIn: boolean): Promise<void> {
    for (let i = 0; i < instanceIds.length; i += PROTECTION_BATCH) {
      await this.client.send(
        new SetInstanceProtectionCommand({
          AutoScalingGroupName: this.names.groupName,
          InstanceIds: instanceIds.slice(i, i + PROTECTION_BATCH),
          ProtectedFromScaleIn: protectedFromScaleIn,
        }),
      );
    }
  }

  async terminate(instanceId: string, decrement: boolean): Promise<void> {
    await this.client.send(
      new TerminateInstanceInAutoScalingGroupCommand({
        InstanceId: instanceId,
        ShouldDecrementDesiredCapacity: decrement,
      }),
    );
  }

  async completeLaunch(instanceId: string, result: "CONTINUE" | "ABANDON"): Promise<void> {
    await this.complete(this.names.launchHookName, instanceId, result);
  }

  async completeTermination(instanceId: string): Promise<void> {
    await this.complete(this.names.terminateHookName, instanceId, "CONTINUE");
  }

  async extendLaunch(instanceId: string): Promise<void> {
    await whileWaiting(
      this.client.send(
        new RecordLifecycleActionHeartbeatCommand({
          AutoScalingGroupName: this.names.groupName,
          LifecycleHookName: this.names.launchHookName,
          InstanceId: instanceId,
        }),
      ),
    );
  }

  private async complete(hook: string, instanceId: string, result: string): Promise<void> {
    await whileWaiting(
      this.client.send(
        new CompleteLifecycleActionCommand({
          AutoScalingGroupName: this.names.groupName,
          LifecycleHookName: hook,
          InstanceId: instanceId,
          LifecycleActionResult: result,
        }),
      ),
    );
  }
}

/** A lifecycle action's call; done when no action waits for the instance (it continued already, or timed out). */
async function whileWaiting(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if ((error as Error).name === "ValidationError" && /No active Lifecycle Action/i.test((error as Error).message))
      return;
    throw error;
  }
}
