/**
 * `cdk destroy` completes: the teardown custom resource is deleted before the media-node group, and
 * its delete stops the scaler and empties the group despite scale-in protection. The template fixes
 * the order; the handler's calls are checked with the mocked SDK and against its role's policies.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  SetInstanceProtectionCommand,
  UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import { LambdaClient, PutFunctionConcurrencyCommand } from "@aws-sdk/client-lambda";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { onTeardownEvent, respondToCloudFormation, type TeardownAnswer } from "../../lib/fleet-teardown-handler";
import { iamRequestOf, mockAwsClients, resetAwsMocks, sentCommands } from "../support/aws-call-recorder";
import { decide, FAKE_ACCOUNT, grantedActions, TemplateResolver } from "../support/iam-simulation";
import { templateOf } from "./helpers";

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON
type Json = Record<string, any>;

const { fleetApp, template } = templateOf();
const fleet = fleetApp.stack.fleet;
const resources: Record<string, Json> = template.toJSON().Resources;
const idOf = (construct: { node: { defaultChild?: unknown } }) =>
  fleetApp.stack.getLogicalId(construct.node.defaultChild as never);
const teardownId = fleetApp.stack.getLogicalId(fleet.teardown.node.defaultChild as never);
const teardownFunction = resources[teardownId]?.Properties.ServiceToken["Fn::GetAtt"][0] as string;
const teardownRoleId = resources[teardownFunction]?.Properties.Role["Fn::GetAtt"][0] as string;

const mocks = mockAwsClients();
const clients = {
  autoScaling: new AutoScalingClient({ region: "us-east-1" }),
  lambda: new LambdaClient({ region: "us-east-1" }),
};
const resolver = new TemplateResolver(template.toJSON() as { Resources: Record<string, object> }, "RtmpFleet");
/** The properties CloudFormation sends: the template's, resolved to the fake names the IAM check uses. */
const PROPERTIES = resolver.resolve(resources[teardownId]?.Properties);

function event(RequestType: "Create" | "Update" | "Delete"): CloudFormationCustomResourceEvent {
  return {
    RequestType,
    ServiceToken: PROPERTIES.ServiceToken,
    ResponseURL: "http://127.0.0.1:1/unused",
    StackId: `arn:aws:cloudformation:us-east-1:${FAKE_ACCOUNT}:stack/RtmpFleet/1`,
    RequestId: "request",
    LogicalResourceId: teardownId,
    ResourceType: "Custom::FleetTeardown",
    ResourceProperties: PROPERTIES,
    ...(RequestType === "Create" ? {} : { PhysicalResourceId: `${fleet.groupName}/teardown` }),
    ...(RequestType === "Update" ? { OldResourceProperties: PROPERTIES } : {}),
  } as CloudFormationCustomResourceEvent;
}

/** Runs the handler on an event; returns its answer and the calls it made, in order. */
async function run(request: "Create" | "Update" | "Delete") {
  const answers: TeardownAnswer[] = [];
  await onTeardownEvent(event(request), clients, async (_event, answer) => void answers.push(answer));
  return { answer: answers[0], answers };
}

/** A group of `count` instances, protected from scale-in. */
function groupOf(count: number) {
  mocks.autoscaling.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      {
        AutoScalingGroupName: fleet.groupName,
        MinSize: 0,
        MaxSize: 0,
        DesiredCapacity: 0,
        DefaultCooldown: 300,
        AvailabilityZones: ["us-east-1a"],
        HealthCheckType: "EC2",
        CreatedTime: new Date(),
        Instances: Array.from({ length: count }, (_, i) => ({
          InstanceId: `i-${String(i).padStart(17, "0")}`,
          LifecycleState: "InService",
          ProtectedFromScaleIn: true,
          AvailabilityZone: "us-east-1a",
          HealthStatus: "Healthy",
        })),
      },
    ],
  });
}

beforeEach(() => {
  resetAwsMocks(mocks);
  jest.spyOn(console, "info").mockImplementation(() => undefined);
  jest.spyOn(console, "error").mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

describe("the template", () => {
  it("deletes the teardown before the group: it depends on the group and on the scaler it stops", () => {
    const teardown = resources[teardownId] as Json;
    expect(teardown.Type).toBe("Custom::FleetTeardown");
    expect(teardown.DependsOn).toContain(idOf(fleet.group));
    expect(teardown.Properties).toMatchObject({
      GroupName: fleet.groupName,
      ScalerFunctionName: { Ref: idOf(fleet.functions.scaler.function) },
    });
  });

  it("gives the teardown the group's and the scaler's actions only, scoped to them", () => {
    const statements = Object.values(resources)
      .filter(
        (r) => r.Type === "AWS::IAM::Policy" && r.Properties.Roles.some((ref: Json) => ref.Ref === teardownRoleId),
      )
      .flatMap((r) => r.Properties.PolicyDocument.Statement);
    const scoped = (action: string) =>
      statements.filter((s) => [s.Action].flat().includes(action)).map((s) => s.Resource);
    expect(scoped("lambda:PutFunctionConcurrency")).toEqual([
      { "Fn::GetAtt": [idOf(fleet.functions.scaler.function), "Arn"] },
    ]);
    for (const action of ["autoscaling:UpdateAutoScalingGroup", "autoscaling:SetInstanceProtection"]) {
      expect(JSON.stringify(scoped(action))).toContain(`autoScalingGroupName/${fleet.groupName}`);
    }
    expect(scoped("autoscaling:DescribeAutoScalingGroups")).toEqual(["*"]);
  });
});

describe("the teardown handler", () => {
  it("on delete stops the scaler, lets nothing launch, then unprotects every instance, 50 a call", async () => {
    groupOf(120);
    const order: string[] = [];
    const step = (name: string) => async () => {
      order.push(name);
      return {};
    };
    mocks.lambda.on(PutFunctionConcurrencyCommand).callsFake(step("stop the scaler"));
    mocks.autoscaling.on(UpdateAutoScalingGroupCommand).callsFake(step("close the group"));
    mocks.autoscaling.on(SetInstanceProtectionCommand).callsFake(step("unprotect"));
    const { answer } = await run("Delete");
    expect(answer).toEqual({ Status: "SUCCESS", PhysicalResourceId: `${fleet.groupName}/teardown` });
    expect(mocks.lambda).toHaveReceivedCommandWith(PutFunctionConcurrencyCommand, {
      FunctionName: PROPERTIES.ScalerFunctionName,
      ReservedConcurrentExecutions: 0,
    });
    expect(mocks.autoscaling).toHaveReceivedCommandWith(UpdateAutoScalingGroupCommand, {
      AutoScalingGroupName: fleet.groupName,
      MinSize: 0,
      MaxSize: 0,
      DesiredCapacity: 0,
    });
    const unprotect = mocks.autoscaling.commandCalls(SetInstanceProtectionCommand).map((c) => c.args[0].input);
    expect(unprotect.map((input) => [input.InstanceIds?.length, input.ProtectedFromScaleIn])).toEqual([
      [50, false],
      [50, false],
      [20, false],
    ]);
    // The scaler is stopped before the group changes, and the group is closed before it is unprotected.
    expect(order).toEqual(["stop the scaler", "close the group", "unprotect", "unprotect", "unprotect"]);
  });

  it.each(["Create", "Update"] as const)("on %s does nothing and keeps its physical id", async (request) => {
    const { answer } = await run(request);
    expect(answer).toEqual({ Status: "SUCCESS", PhysicalResourceId: `${fleet.groupName}/teardown` });
    expect(sentCommands(mocks)).toEqual([]);
  });

  it("succeeds when the group is already gone", async () => {
    mocks.autoscaling
      .on(UpdateAutoScalingGroupCommand)
      .rejects(Object.assign(new Error("AutoScalingGroup name not found - null"), { name: "ValidationError" }));
    expect((await run("Delete")).answer?.Status).toBe("SUCCESS");
    expect(mocks.autoscaling).not.toHaveReceivedCommand(SetInstanceProtectionCommand);
  });

  it("answers FAILED with the reason when a step fails, instead of leaving the delete to hang", async () => {
    groupOf(3);
    mocks.autoscaling
      .on(SetInstanceProtectionCommand)
      .rejects(Object.assign(new Error("not authorized"), { name: "AccessDenied" }));
    expect((await run("Delete")).answers).toEqual([
      { Status: "FAILED", Reason: "AccessDenied: not authorized", PhysicalResourceId: `${fleet.groupName}/teardown` },
    ]);
  });

  it("puts its answer to CloudFormation's URL without a content type", async () => {
    const received: { method?: string; type?: string; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        received.push({ method: req.method, type: req.headers["content-type"], body });
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/response`;
      await respondToCloudFormation(
        { ...event("Delete"), ResponseURL: url },
        { Status: "SUCCESS", PhysicalResourceId: "p" },
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(received).toHaveLength(1);
    expect(received[0]?.method).toBe("PUT");
    expect(received[0]?.type ?? "").toBe("");
    expect(JSON.parse(received[0]?.body ?? "{}")).toEqual({
      Status: "SUCCESS",
      PhysicalResourceId: "p",
      StackId: event("Delete").StackId,
      RequestId: "request",
      LogicalResourceId: teardownId,
    });
  });

  it("makes only calls its role allows, and is granted only what it calls (IAM call by call)", async () => {
    groupOf(2);
    await run("Delete");
    const policies = resolver.rolePolicies(teardownRoleId);
    const requests = sentCommands(mocks).map((c) => iamRequestOf(c, () => fleet.groupName));
    const principal = `arn:aws:sts::${FAKE_ACCOUNT}:assumed-role/${resolver.name(teardownRoleId)}/teardown`;
    for (const request of requests) {
      const decision = await decide(principal, policies, request);
      expect([request.action, request.resource, decision.result]).toEqual([
        request.action,
        request.resource,
        "Allowed",
      ]);
    }
    const used = new Set(requests.map((r) => r.action));
    const runtime = new Set(["logs:CreateLogStream", "logs:PutLogEvents"]);
    expect([...grantedActions(policies)].filter((a) => !used.has(a) && !runtime.has(a))).toEqual([]);
    expect(used.size).toBe(4);
  });
});
