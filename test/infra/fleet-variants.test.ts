/**
 * The settings that change the template: an existing VPC, and a locked-down fleet (camera keys
 * off, table destroyed with the stack, narrow camera CIDRs, ARM nodes, an alarm email, a shorter
 * heartbeat, debug logs). Each is synthesized once; cdk-nag and cfn-lint run over both. Also: invalid props of
 * the construct throw.
 */
import { App, type CfnElement, RemovalPolicy, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { InstanceType, Vpc } from "aws-cdk-lib/aws-ec2";
import { ENV, NODE_SETTING_TAGS } from "../../lambdas/contract";
import { DEFAULT_FLEET_CONFIG } from "../../lambdas/core/config";
import type { FleetApp } from "../../lib/fleet-app";
import { RtmpFleet, type RtmpFleetProps } from "../../lib/rtmp-fleet";
import { cfnLintErrors, nagFindings, SKIP_BUNDLING, templateOf, writeTemplate } from "./helpers";

const EXISTING = {
  vpcId: "vpc-0a1b2c3d4e5f60718",
  publicSubnetIds: ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"],
  availabilityZones: ["eu-west-1a", "eu-west-1b"],
};

let existingVpc: { fleetApp: FleetApp; template: Template };
let lockedDown: { fleetApp: FleetApp; template: Template };

/** One environment variable of each of the fleet's Lambdas, by entry point. */
function variableByEntry({ fleetApp, template }: typeof lockedDown, name: string): [string, unknown][] {
  const resources = template.toJSON().Resources;
  return Object.entries(fleetApp.stack.fleet.functions).map(([entry, { function: fn }]) => {
    const vars =
      resources[fleetApp.stack.getLogicalId(fn.node.defaultChild as CfnElement)].Properties.Environment.Variables;
    return [entry, vars[name]];
  });
}

beforeAll(() => {
  existingVpc = templateOf({ stackName: "ExistingVpcFleet", ...EXISTING, viewerAccess: "true" });
  lockedDown = templateOf({
    stackName: "LockedDownFleet",
    requireCameraKeys: "false",
    tableRemovalPolicy: "destroy",
    cameraCidrs: "203.0.113.0/24,198.51.100.16/28",
    instanceType: "c7g.large",
    alarmEmail: "ops@example.com",
    "fleet.minNodes": "2",
    "fleet.maxNodes": "4",
    "fleet.heartbeatSeconds": "7",
    "fleet.logLevel": "debug",
    logRetentionDays: 7,
  });
});

describe("an existing VPC (by ids, no lookup)", () => {
  it("creates no VPC and puts the nodes in the given public subnets", () => {
    const { template } = existingVpc;
    template.resourceCountIs("AWS::EC2::VPC", 0);
    template.resourceCountIs("AWS::EC2::FlowLog", 0);
    template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
      VPCZoneIdentifier: EXISTING.publicSubnetIds,
    });
    template.hasResourceProperties("AWS::EC2::SecurityGroup", { VpcId: EXISTING.vpcId });
  });

  it("names the group and node-secret path after the stack", () => {
    const { template } = existingVpc;
    template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
      AutoScalingGroupName: "ExistingVpcFleet-media-nodes",
    });
    expect(template.toJSON().Outputs.NodeSecretParameterPrefix.Value).toBe("/rtmp-fleet/ExistingVpcFleet/node-secrets");
  });
});

describe("viewer access on (the existing-VPC fleet)", () => {
  it("creates the viewer master secret, tells only the viewer Lambdas of it, and outputs where to play", () => {
    const { template, fleetApp } = existingVpc;
    const { viewerMasterSecret, functions } = fleetApp.stack.fleet;
    if (!viewerMasterSecret) throw new Error("viewerAccess true creates the viewer master secret");
    const secretId = fleetApp.stack.getLogicalId(viewerMasterSecret.node.defaultChild as never);
    const viewerFunctions = [functions.play, functions["viewer-hooks"]].map((f) =>
      fleetApp.stack.getLogicalId(f.function.node.defaultChild as never),
    );
    const told = Object.entries(template.findResources("AWS::Lambda::Function"))
      .filter(([, fn]) => ENV.viewerSecret in (fn.Properties.Environment?.Variables ?? {}))
      .map(([id, fn]) => [id, fn.Properties.Environment.Variables[ENV.viewerSecret]]);
    expect(told).toEqual(viewerFunctions.map((id) => [id, { Ref: secretId }]));
    const outputs = template.toJSON().Outputs;
    expect(outputs.ViewerMasterSecretArn.Value).toEqual({ Ref: secretId });
    expect(JSON.stringify(outputs.PlayUrl.Value)).toContain("/play");
  });
});

describe("a locked-down fleet", () => {
  it("has no viewer master secret and no viewer Lambda reads one (viewer access off by default)", () => {
    const { template, fleetApp } = lockedDown;
    expect(fleetApp.stack.fleet.viewerMasterSecret).toBeUndefined();
    for (const fn of Object.values(template.findResources("AWS::Lambda::Function"))) {
      expect(fn.Properties.Environment?.Variables ?? {}).not.toHaveProperty(ENV.viewerSecret);
    }
    expect(template.toJSON().Outputs).not.toHaveProperty("PlayUrl");
  });

  it("has no camera master secret and tells no Lambda of one (camera keys off)", () => {
    const { template, fleetApp } = lockedDown;
    expect(fleetApp.stack.fleet.cameraMasterSecret).toBeUndefined();
    // The operator token's only.
    template.resourceCountIs("AWS::SecretsManager::Secret", 1);
    for (const fn of Object.values(template.findResources("AWS::Lambda::Function"))) {
      expect(fn.Properties.Environment?.Variables ?? {}).not.toHaveProperty(ENV.cameraSecret);
    }
    const outputs = template.toJSON().Outputs;
    expect(outputs).not.toHaveProperty("CameraMasterSecretArn");
    expect(JSON.stringify(outputs.PublishExample.Value)).not.toContain("key=");
  });

  it("tells the camera Lambdas, and only them, where cameras may call from (keys off)", () => {
    for (const [entry, cidrs] of variableByEntry(lockedDown, ENV.cameraCidrs)) {
      const expected = ["resolve", "publish", "done"].includes(entry) ? "203.0.113.0/24,198.51.100.16/28" : undefined;
      expect([entry, cidrs]).toEqual([entry, expected]);
    }
  });

  it("tells every Lambda the log level its fleet.logLevel asks for", () => {
    for (const [entry, level] of variableByEntry(lockedDown, ENV.logLevel)) {
      expect([entry, level]).toEqual([entry, "debug"]);
    }
  });

  it("lets the table go with the stack, without deletion protection", () => {
    lockedDown.template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Delete",
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
  });

  it("opens RTMP to the given CIDRs only", () => {
    lockedDown.template.hasResourceProperties("AWS::EC2::SecurityGroup", {
      SecurityGroupIngress: [
        Match.objectLike({ CidrIp: "203.0.113.0/24", FromPort: 1935, ToPort: 1935 }),
        Match.objectLike({ CidrIp: "198.51.100.16/28", FromPort: 1935, ToPort: 1935 }),
      ],
    });
  });

  it("runs ARM nodes from the arm64 Ubuntu AMI", () => {
    const { template } = lockedDown;
    template.hasResourceProperties("AWS::EC2::LaunchTemplate", {
      LaunchTemplateData: Match.objectLike({ InstanceType: "c7g.large" }),
    });
    const defaults = Object.values(template.toJSON().Parameters).map((p) => (p as { Default: string }).Default);
    expect(defaults).toContain("/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id");
  });

  it("gives its nodes their settings as tags, and the very user data of any other fleet", () => {
    const data = (template: Template) =>
      Object.values(template.findResources("AWS::EC2::LaunchTemplate"))[0]?.Properties.LaunchTemplateData;
    const locked = data(lockedDown.template);
    expect(locked.TagSpecifications[0]).toEqual({
      ResourceType: "instance",
      Tags: expect.arrayContaining([
        { Key: NODE_SETTING_TAGS.secretParameterPrefix, Value: "/rtmp-fleet/LockedDownFleet/node-secrets" },
        { Key: NODE_SETTING_TAGS.heartbeatSeconds, Value: "7" },
      ]),
    });
    expect(locked.UserData).toBe(data(existingVpc.template).UserData);
  });

  it("sizes the group from the fleet knobs and subscribes the alarm email", () => {
    const { template } = lockedDown;
    template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", { MinSize: "2", MaxSize: "4" });
    template.hasResourceProperties("AWS::SNS::Subscription", { Protocol: "email", Endpoint: "ops@example.com" });
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 7 });
  });
});

describe("both variants", () => {
  it("leave no cdk-nag finding unacknowledged (the narrow CIDRs need no EC23 acknowledgement)", () => {
    expect(nagFindings(existingVpc.fleetApp.stack)).toEqual([]);
    expect(nagFindings(lockedDown.fleetApp.stack)).toEqual([]);
  });

  it("pass cfn-lint without errors", () => {
    const files = [
      writeTemplate(existingVpc.fleetApp.stack, "existing-vpc"),
      writeTemplate(lockedDown.fleetApp.stack, "locked-down"),
    ];
    expect(cfnLintErrors(files)).toEqual([]);
  });
});

describe("RtmpFleet props", () => {
  /** Builds a fleet in a fresh stack (no bundling); returns the error message, or "" when it builds. */
  function build(props: (stack: Stack) => RtmpFleetProps): string {
    const stack = new Stack(new App({ context: SKIP_BUNDLING }), "PropsTest");
    try {
      new RtmpFleet(stack, "Fleet", props(stack));
      return "";
    } catch (error) {
      return (error as Error).message;
    }
  }

  it("builds with its defaults alone", () => {
    expect(build(() => ({}))).toBe("");
  });

  it.each<[string, (stack: Stack) => RtmpFleetProps, RegExp]>([
    ["no camera CIDR", () => ({ cameraCidrs: [] }), /cameraCidrs must list at least one CIDR block/],
    ["a host address as CIDR", () => ({ cameraCidrs: ["10.1.2.3/8"] }), /cameraCidrs must be IPv4 CIDR blocks/],
    [
      "a snapshot removal policy",
      () => ({ tableRemovalPolicy: RemovalPolicy.SNAPSHOT }),
      /tableRemovalPolicy must be RETAIN or DESTROY/,
    ],
    ["a zero burst", () => ({ apiThrottle: { rateLimit: 10, burstLimit: 0 } }), /apiThrottle\.burstLimit/],
    ["a bad email", () => ({ alarmEmail: "ops" }), /alarmEmail must be an email address/],
    ["a bad fleet name", () => ({ fleetName: "my fleet" }), /fleetName must be a letter/],
    [
      "no camera keys with RTMP open to all",
      () => ({ requireCameraKeys: false }),
      /requireCameraKeys false needs cameraCidrs narrower than \/0/,
    ],
    [
      "min above max",
      () => ({ fleetConfig: { ...DEFAULT_FLEET_CONFIG, minNodes: 5, maxNodes: 2 } }),
      /'maxNodes' \(2\) must be at least 'minNodes' \(5\)/,
    ],
    [
      "a VPC without public subnets",
      (stack) => ({
        vpc: Vpc.fromVpcAttributes(stack, "Private", {
          vpcId: "vpc-01234567",
          availabilityZones: ["eu-west-1a"],
          privateSubnetIds: ["subnet-01234567"],
        }),
      }),
      /vpc must have public subnets/,
    ],
  ])("refuses %s", (_case, props, message) => {
    expect(build(props)).toMatch(message);
  });

  it("infers the AMI architecture from the instance type unless told", () => {
    const stack = new Stack(new App({ context: SKIP_BUNDLING }), "ArchTest");
    new RtmpFleet(stack, "Fleet", { instanceType: new InstanceType("m7g.large") });
    const defaults = Object.values(Template.fromStack(stack).toJSON().Parameters).map(
      (p) => (p as { Default: string }).Default,
    );
    expect(defaults.some((d) => d.includes("/current/arm64/"))).toBe(true);
  });
});
