/**
 * The Lambda of the fleet's teardown custom resource. CloudFormation does not force-delete an Auto
 * Scaling group: with every node protected from scale-in, a stack delete would wait on instances
 * that never leave (aws-cdk issue 18179). On delete, before the group goes, this stops the scaler
 * and lets the group empty itself despite the protection. Create and update do nothing.
 */
import { AutoScalingClient, UpdateAutoScalingGroupCommand } from "@aws-sdk/client-auto-scaling";
import { LambdaClient, PutFunctionConcurrencyCommand } from "@aws-sdk/client-lambda";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { AsgFleet } from "../lambdas/adapters/asg-fleet";
import { LIFECYCLE } from "../lambdas/contract";
import type { TeardownProperties } from "./fleet-teardown";

/** What the teardown acts on. */
export interface TeardownClients {
  readonly autoScaling: AutoScalingClient;
  readonly lambda: LambdaClient;
}

const notFound = (error: unknown) =>
  (error as Error).name === "ResourceNotFoundException" ||
  ((error as Error).name === "ValidationError" && /not found/i.test((error as Error).message));

/**
 * Stops the scaler, then empties the group: nothing may launch, and every instance loses its
 * protection, so the group terminates them all and CloudFormation's delete of it completes.
 * @returns the instances whose protection was removed
 */
export async function emptyGroup(clients: TeardownClients, properties: TeardownProperties): Promise<string[]> {
  // Zero concurrency refuses every scaler run, scheduled or woken by a resolve, so that none can
  // protect a node again or raise the capacity while the group empties.
  await clients.lambda
    .send(
      new PutFunctionConcurrencyCommand({
        FunctionName: properties.ScalerFunctionName,
        ReservedConcurrentExecutions: 0,
      }),
    )
    .catch((error: unknown) => {
      if (!notFound(error)) throw error;
    });
  try {
    await clients.autoScaling.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: properties.GroupName,
        MinSize: 0,
        MaxSize: 0,
        DesiredCapacity: 0,
      }),
    );
  } catch (error) {
    // No group (its creation failed, or a delete was retried): nothing to empty.
    if (notFound(error)) return [];
    throw error;
  }
  const group = new AsgFleet(clients.autoScaling, {
    groupName: properties.GroupName,
    launchHookName: LIFECYCLE.launchHook,
    terminateHookName: LIFECYCLE.terminateHook,
  });
  const protectedIds = (await group.describe()).instances
    .filter((instance) => instance.protectedFromScaleIn)
    .map((instance) => instance.instanceId);
  await group.setProtection(protectedIds, false);
  return protectedIds;
}

/** The answer CloudFormation waits for. */
export interface TeardownAnswer {
  readonly Status: "SUCCESS" | "FAILED";
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
}

/**
 * Handles one custom resource event and answers it. A failed teardown is answered FAILED with its
 * reason: the stack delete stops there (and can be retried) instead of waiting on the group.
 */
export async function onTeardownEvent(
  event: CloudFormationCustomResourceEvent,
  clients: TeardownClients,
  respond: (event: CloudFormationCustomResourceEvent, answer: TeardownAnswer) => Promise<void>,
): Promise<void> {
  const properties = event.ResourceProperties as unknown as TeardownProperties;
  // One physical id for the resource's whole life: CloudFormation never replaces it, so its
  // delete runs only when the resource leaves the stack.
  const PhysicalResourceId = `${properties.GroupName}/teardown`;
  try {
    if (event.RequestType === "Delete") {
      const unprotected = await emptyGroup(clients, properties);
      console.info(`scaler stopped; group ${properties.GroupName} emptying; unprotected: ${unprotected.join(" ")}`);
    }
    await respond(event, { Status: "SUCCESS", PhysicalResourceId });
  } catch (error) {
    console.error("teardown failed", error);
    await respond(event, {
      Status: "FAILED",
      Reason: `${(error as Error).name}: ${(error as Error).message}`,
      PhysicalResourceId,
    });
  }
}

/** Puts the answer to the pre-signed URL CloudFormation gave (an S3 URL: no content type). */
export async function respondToCloudFormation(
  event: CloudFormationCustomResourceEvent,
  answer: TeardownAnswer,
): Promise<void> {
  const body = {
    ...answer,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  };
  const response = await fetch(event.ResponseURL, {
    method: "PUT",
    headers: { "content-type": "" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`CloudFormation's response URL answered ${response.status}`);
}

/** The Lambda entry point. */
export async function handler(event: CloudFormationCustomResourceEvent): Promise<void> {
  await onTeardownEvent(
    event,
    { autoScaling: new AutoScalingClient({}), lambda: new LambdaClient({}) },
    respondToCloudFormation,
  );
}
