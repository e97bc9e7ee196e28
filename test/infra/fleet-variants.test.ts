/**
 * The settings that change the template: an existing VPC, and a locked-down fleet (camera keys
 * off, table destroyed with the stack, narrow camera CIDRs, ARM nodes, an alarm email, a shorter
 * heartbeat, debug logs), and a fleet with a warm pool on the operator's own AMI. Each is
 * synthesized once; cdk-nag and cfn-lint run over all. Also: invalid props of the construct throw.
 */
import { App, type CfnElement, RemovalPolicy, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { InstanceType, Vpc } from "aws-cdk-lib/aws-ec2";
import { ENV, LIFECYCLE, NODE_SETTING_TAGS } from "../../lambdas/contract";
import { DEFAULT_FLEET_CONFIG } from "../../lambdas/core/config";
import type { FleetApp } from "../../lib/fleet-app";
import { RtmpFleet, type RtmpFleetProps } from "../../lib/rtmp-fleet";
import { decide, FAKE_ACCOUNT, FAKE_REGION, TemplateResolver } from "../support/iam-simulation";
import { cfnLintErrors, nagFindings, SKIP_BUNDLING, templateOf, writeTemplate } from "./helpers";

const EXISTING = {
  vpcId: "vpc-0a1b2c3d4e5f60718",
  publicSubnetIds: ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"],
  availabilityZones: ["eu-west-1a", "eu-west-1b"],
};

let existingVpc: { fleetApp: FleetApp; template: Template };
let lockedDown: { fleetApp: FleetApp; template: Template };
let warm: { fleetApp: FleetApp; template: Template };
const OPERATOR_IMAGE = "ami-0123456789abcdef0";

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
  warm = templateOf({ stackName: "WarmFleet", "fleet.warmPoolSize": "2", nodeImageId: OPERATOR_IMAGE });
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

describe("a warm pool on the operator's AMI (warmPoolSize 2, nodeImageId)", () => {
  const launchTemplateData = (template: Template) =>
    Object.values(template.findResources("AWS::EC2::LaunchTemplate"))[0]?.Properties.LaunchTemplateData;
  const nodeRoleOf = ({ fleetApp, template }: typeof warm) => {
    const resolver = new TemplateResolver(template.toJSON() as { Resources: Record<string, object> }, "WarmFleet");
    const roleId = fleetApp.stack.getLogicalId(fleetApp.stack.fleet.nodeRole.node.defaultChild as never);
    return { policies: resolver.rolePolicies(roleId), principal: `arn:aws:sts::${FAKE_ACCOUNT}:assumed-role/node/i-1` };
  };
  const completeLaunch = (groupName: string) => ({
    action: "autoscaling:CompleteLifecycleAction",
    resource: `arn:aws:autoscaling:${FAKE_REGION}:${FAKE_ACCOUNT}:autoScalingGroup:uuid:autoScalingGroupName/${groupName}`,
    context: {},
    resourceTags: {},
  });

  it("keeps exactly that many stopped instances beside the group, never returned to it on scale-in", () => {
    warm.template.resourceCountIs("AWS::AutoScaling::WarmPool", 1);
    warm.template.hasResourceProperties("AWS::AutoScaling::WarmPool", {
      AutoScalingGroupName: { Ref: Match.stringLikeRegexp("MediaNodes") },
      MinSize: 2,
      MaxGroupPreparedCapacity: 2,
      PoolState: "Stopped",
      InstanceReusePolicy: { ReuseOnScaleIn: false },
    });
  });

  it("has no pool without the knob", () => {
    existingVpc.template.resourceCountIs("AWS::AutoScaling::WarmPool", 0);
    lockedDown.template.resourceCountIs("AWS::AutoScaling::WarmPool", 0);
  });

  it("lets a node complete a launch action on its own group only, and no node do so without a pool", async () => {
    const { policies, principal } = nodeRoleOf(warm);
    expect((await decide(principal, policies, completeLaunch("WarmFleet-media-nodes"))).result).toBe("Allowed");
    expect((await decide(principal, policies, completeLaunch("OtherFleet-media-nodes"))).result).toBe(
      "ImplicitlyDenied",
    );
    const without = nodeRoleOf(existingVpc);
    const request = completeLaunch("ExistingVpcFleet-media-nodes");
    expect((await decide(without.principal, without.policies, request)).result).toBe("ImplicitlyDenied");
  });

  it("tells its nodes their group and launch hook, and launches them from the operator's AMI", () => {
    const data = launchTemplateData(warm.template);
    expect(data.ImageId).toBe(OPERATOR_IMAGE);
    expect(data.TagSpecifications[0].Tags).toEqual(
      expect.arrayContaining([
        { Key: NODE_SETTING_TAGS.groupName, Value: "WarmFleet-media-nodes" },
        { Key: NODE_SETTING_TAGS.launchHook, Value: LIFECYCLE.launchHook },
      ]),
    );
    expect(JSON.stringify(launchTemplateData(existingVpc.template).ImageId)).toContain("Ssm");
  });
});

describe("all variants", () => {
  it("leave no cdk-nag finding unacknowledged (the narrow CIDRs need no EC23 acknowledgement)", () => {
    expect(nagFindings(existingVpc.fleetApp.stack)).toEqual([]);
    expect(nagFindings(lockedDown.fleetApp.stack)).toEqual([]);
    expect(nagFindings(warm.fleetApp.stack)).toEqual([]);
  });

  it("pass cfn-lint without errors", () => {
    const files = [
      writeTemplate(existingVpc.fleetApp.stack, "existing-vpc"),
      writeTemplate(lockedDown.fleetApp.stack, "locked-down"),
      writeTemplate(warm.fleetApp.stack, "warm-pool"),
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
    ["an AMI that is not one", () => ({ nodeImageId: "ami-xyz" }), /nodeImageId must be an AMI id/],
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
