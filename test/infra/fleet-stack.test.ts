/**
 * The default stack (cdk.json's context), synthesized once without bundling: what each resource
 * must be, who may do what, and cdk-nag and cfn-lint over it. Logical ids are never written here:
 * a resource is found by its properties, or by the id CDK gives the construct the test holds.
 */
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { type CfnElement, Validations } from "aws-cdk-lib";
import { Capture, Match, Template } from "aws-cdk-lib/assertions";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import {
  ENV,
  FUNCTION_NAMES,
  type FunctionName,
  LIFECYCLE,
  METRIC,
  NODE_SETTING_TAGS,
  REGISTRY_TABLE,
  ROUTES,
  UNMATCHED_ROUTE_FUNCTION,
} from "../../lambdas/contract";
import { DEFAULT_FLEET_CONFIG, parseFleetConfig } from "../../lambdas/core/config";
import type { FleetApp } from "../../lib/fleet-app";
import {
  FILE_END_MARKER,
  MEDIA_NODE_FILES,
  MEDIA_NODE_SOURCE_DIR,
  mediaNodeUserData,
  NODE_FILES_DIR,
  USER_DATA_LIMIT_BYTES,
} from "../../lib/media-node-user-data";
import type { RtmpFleet } from "../../lib/rtmp-fleet";
import { cfnLintErrors, nagFindings, ROOT, tempDir, templateOf, writeTemplate } from "./helpers";

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON, each test reads the shape it expects
type Json = Record<string, any>;

let fleetApp: FleetApp;
let template: Template;
let fleet: RtmpFleet;
let resources: Record<string, Json>;

beforeAll(() => {
  ({ fleetApp, template } = templateOf());
  fleet = fleetApp.stack.fleet;
  resources = template.toJSON().Resources;
});

/** The logical id CDK gave a construct's CloudFormation resource. */
function idOf(construct: { node: { defaultChild?: unknown } } | CfnElement): string {
  const element = ("logicalId" in construct ? construct : construct.node.defaultChild) as CfnElement;
  return fleetApp.stack.getLogicalId(element);
}

/** Every statement of the policies attached to a role. */
function statementsOf(roleId: string): Json[] {
  return Object.values(resources)
    .filter((r) => r.Type === "AWS::IAM::Policy" && r.Properties.Roles.some((ref: Json) => ref.Ref === roleId))
    .flatMap((r) => r.Properties.PolicyDocument.Statement);
}

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** The template's ARN of a parameter under the fleet's node-secret path. */
const nodeSecretArn = (name: string) => ({
  "Fn::Join": [
    "",
    [
      "arn:",
      { Ref: "AWS::Partition" },
      ":ssm:",
      { Ref: "AWS::Region" },
      ":",
      { Ref: "AWS::AccountId" },
      `:parameter/rtmp-fleet/RtmpFleet/node-secrets/${name}`,
    ],
  ],
});
const actionsOf = (statements: Json[], prefix: string) =>
  new Set(statements.flatMap((s) => list<string>(s.Action)).filter((a) => a.startsWith(prefix)));

const ENTRIES = FUNCTION_NAMES.length;
const functionEntries = () => Object.keys(fleet.functions) as FunctionName[];
const roleIdOf = (entry: FunctionName) => idOf(fleet.functions[entry].role);

/** The ARN of this fleet's group, as the template writes it. */
const groupArn = () => ({
  "Fn::Join": [
    "",
    [
      "arn:",
      { Ref: "AWS::Partition" },
      ":autoscaling:",
      { Ref: "AWS::Region" },
      ":",
      { Ref: "AWS::AccountId" },
      `:autoScalingGroup:*:autoScalingGroupName/${fleet.groupName}`,
    ],
  ],
});

describe("HTTP API", () => {
  it.each(ROUTES.map((r) => [r.path, r.method, r.function]))(
    "routes %s (%s) to its Lambda, payload 2.0",
    (routePath, method, entry) => {
      const target = new Capture();
      template.hasResourceProperties("AWS::ApiGatewayV2::Route", {
        RouteKey: `${method} ${routePath}`,
        AuthorizationType: "NONE",
        Target: target,
      });
      const integrationId = target.asObject()["Fn::Join"][1][1].Ref;
      const integration = resources[integrationId]?.Properties;
      expect(integration).toMatchObject({ IntegrationType: "AWS_PROXY", PayloadFormatVersion: "2.0" });
      expect(integration?.IntegrationUri).toEqual({
        "Fn::GetAtt": [idOf(fleet.functions[entry as FunctionName].function), "Arn"],
      });
    },
  );

  it("sends everything else ($default) to the not-found Lambda", () => {
    const target = new Capture();
    template.hasResourceProperties("AWS::ApiGatewayV2::Route", { RouteKey: "$default", Target: target });
    const integrationId = target.asObject()["Fn::Join"][1][1].Ref;
    expect(resources[integrationId]?.Properties.IntegrationUri).toEqual({
      "Fn::GetAtt": [idOf(fleet.functions["not-found"].function), "Arn"],
    });
    template.resourceCountIs("AWS::ApiGatewayV2::Route", ROUTES.length + 1);
  });

  it("throttles the node routes apart from the camera, viewer and operator routes, each route its own bucket", () => {
    const stage = Object.entries(resources).find(([, r]) => r.Type === "AWS::ApiGatewayV2::Stage");
    const [stageId, { Properties, DependsOn }] = stage as [string, Json];
    expect(Properties.RouteSettings).toEqual(
      Object.fromEntries(
        ROUTES.map((r) => [
          `${r.method} ${r.path}`,
          r.caller === "node"
            ? { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 }
            : { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
        ]),
      ),
    );
    expect(ROUTES.filter((r) => r.caller === "node").map((r) => r.path)).toEqual([
      "/hooks/publish",
      "/hooks/done",
      "/nodes/heartbeat",
      "/nodes/boot",
      "/hooks/play",
      "/hooks/play_done",
    ]);
    // The settings name the routes: the stage is created after them.
    const routeIds = Object.entries(resources)
      .filter(([, r]) => r.Type === "AWS::ApiGatewayV2::Route" && r.Properties.RouteKey !== "$default")
      .map(([id]) => id);
    expect([stageId, DependsOn]).toEqual([stageId, expect.arrayContaining(routeIds)]);
  });

  it("has a throttled $default stage with access logs that leave out the query string (camera keys)", () => {
    const format = new Capture();
    template.hasResourceProperties("AWS::ApiGatewayV2::Stage", {
      StageName: "$default",
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: { DestinationArn: { "Fn::GetAtt": [Match.anyValue(), "Arn"] }, Format: format },
    });
    const fields = JSON.parse(format.asString());
    expect(fields).toMatchObject({ path: "$context.path", status: "$context.status" });
    expect(format.asString()).not.toMatch(/querystring|rawQueryString|\$context\.requestOverride/i);
  });
});

describe("Lambdas", () => {
  it("has the thirteen entry points, each a Node 22 ARM64 function with its own log group and role, logging at info", () => {
    expect(functionEntries().sort()).toEqual(
      [
        "done",
        "events",
        "heartbeat",
        "lifecycle",
        "nodes",
        "not-found",
        "play",
        "publish",
        "resolve",
        "scaler",
        "status",
        "streams",
        "viewer-hooks",
      ].sort(),
    );
    expect(functionEntries()).toHaveLength(ENTRIES);
    for (const entry of functionEntries()) {
      const fn = resources[idOf(fleet.functions[entry].function)]?.Properties;
      expect(fn).toMatchObject({
        Runtime: "nodejs22.x",
        Architectures: ["arm64"],
        MemorySize: 512,
        Handler: "index.handler",
        Role: { "Fn::GetAtt": [roleIdOf(entry), "Arn"] },
        LoggingConfig: { LogGroup: { Ref: idOf(fleet.functions[entry].logGroup) } },
        Environment: {
          Variables: {
            NODE_OPTIONS: "--enable-source-maps",
            POWERTOOLS_SERVICE_NAME: "RtmpFleet",
            POWERTOOLS_LOG_LEVEL: "info",
          },
        },
      });
      expect(resources[idOf(fleet.functions[entry].logGroup)]?.Properties.RetentionInDays).toBe(30);
    }
  });

  it("reserves concurrency for the heartbeat and publish Lambdas (20 each) and the scaler (2), none elsewhere", () => {
    const reserved = (app: FleetApp) =>
      Object.fromEntries(
        FUNCTION_NAMES.map((entry) => {
          const fn = app.stack.getLogicalId(app.stack.fleet.functions[entry].function.node.defaultChild as CfnElement);
          return [entry, Template.fromStack(app.stack).toJSON().Resources[fn].Properties.ReservedConcurrentExecutions];
        }),
      );
    expect(reserved(fleetApp)).toEqual({
      ...Object.fromEntries(FUNCTION_NAMES.map((entry) => [entry, undefined])),
      heartbeat: 20,
      publish: 20,
      scaler: 2,
    });
    // 0 turns reservations off, for an account whose concurrency quota cannot spare them.
    const off = reserved(templateOf({ stackName: "NoReservations", reservedConcurrency: 0 }).fleetApp);
    expect(Object.values(off).filter((value) => value !== undefined)).toEqual([]);
  });

  it("answers callbacks well inside nginx-rtmp's 10 s; the scaler has a minute", () => {
    const timeout = (entry: FunctionName) => resources[idOf(fleet.functions[entry].function)]?.Properties.Timeout;
    for (const entry of ["resolve", "publish", "done", "heartbeat"] as const)
      expect(timeout(entry)).toBeLessThanOrEqual(8);
    expect(timeout("scaler")).toBe(60);
  });

  it("gives every HTTP Lambda what awsApiDeps reads, with the validated fleet config", () => {
    const httpFunctions = new Set<FunctionName>([...ROUTES.map((r) => r.function), UNMATCHED_ROUTE_FUNCTION]);
    for (const entry of httpFunctions) {
      const vars = resources[idOf(fleet.functions[entry].function)]?.Properties.Environment.Variables;
      expect(vars).toMatchObject({
        [ENV.table]: { Ref: idOf(fleet.table) },
        [ENV.groupName]: "RtmpFleet-media-nodes",
        [ENV.launchHook]: LIFECYCLE.launchHook,
        [ENV.terminateHook]: LIFECYCLE.terminateHook,
      });
      expect(parseFleetConfig(JSON.parse(vars[ENV.fleetConfig]))).toEqual(DEFAULT_FLEET_CONFIG);
    }
  });

  it.each([
    ["resolve", [ENV.cameraSecret, ENV.scalerFunction]],
    ["publish", [ENV.cameraSecret, ENV.scalerFunction]],
    ["nodes", [ENV.operatorSecret]],
    ["streams", [ENV.operatorSecret]],
    ["events", [ENV.operatorSecret]],
    ["done", [ENV.cameraSecret]],
    ["heartbeat", []],
    ["not-found", []],
  ] as const)("sets on %s the optional secrets and scaler it uses: %j", (entry, names) => {
    const vars = resources[idOf(fleet.functions[entry].function)]?.Properties.Environment.Variables;
    for (const name of [
      ENV.cameraSecret,
      ENV.cameraCidrs,
      ENV.operatorSecret,
      ENV.scalerFunction,
      ENV.nodeSecretPrefix,
    ]) {
      expect([name, name in vars]).toEqual([name, (names as readonly string[]).includes(name)]);
    }
  });

  it("tells resolve and publish the scaler's name, and the Lambdas that register nodes the node secrets' path and instance ARNs", () => {
    for (const entry of ["resolve", "publish"] as const) {
      const vars = resources[idOf(fleet.functions[entry].function)]?.Properties.Environment.Variables;
      expect([entry, vars[ENV.scalerFunction]]).toEqual([entry, { Ref: idOf(fleet.functions.scaler.function) }]);
    }
    for (const entry of ["lifecycle", "scaler"] as const) {
      const vars = resources[idOf(fleet.functions[entry].function)]?.Properties.Environment.Variables;
      expect(vars).toMatchObject({
        [ENV.nodeSecretPrefix]: "/rtmp-fleet/RtmpFleet/node-secrets",
        [ENV.instanceArnPrefix]: {
          "Fn::Join": [
            "",
            [
              "arn:",
              { Ref: "AWS::Partition" },
              ":ec2:",
              { Ref: "AWS::Region" },
              ":",
              { Ref: "AWS::AccountId" },
              ":instance/",
            ],
          ],
        },
        [ENV.groupName]: "RtmpFleet-media-nodes",
      });
    }
  });
});

describe("least privilege", () => {
  const secretsOf = (entry: FunctionName) => {
    const names = new Map([
      [fleet.cameraMasterSecret && idOf(fleet.cameraMasterSecret), "camera"],
      [idOf(fleet.operatorTokenSecret), "operator"],
    ]);
    return statementsOf(roleIdOf(entry))
      .filter((s) => list<string>(s.Action).includes("secretsmanager:GetSecretValue"))
      .flatMap((s) => list<Json>(s.Resource))
      .map((r) => names.get(r.Ref) ?? JSON.stringify(r))
      .sort();
  };

  it.each([
    ["resolve", ["camera"]],
    ["publish", ["camera"]],
    ["done", ["camera"]],
    ["heartbeat", []],
    ["nodes", ["operator"]],
    ["streams", ["operator"]],
    ["events", ["operator"]],
    ["status", ["operator"]],
    ["lifecycle", []],
    ["not-found", []],
    ["scaler", []],
  ] as const)("%s may read the secrets %j only", (entry, expected) => {
    expect(secretsOf(entry)).toEqual([...expected]);
  });

  it.each([
    ["resolve", ["autoscaling:SetInstanceProtection"]],
    ["publish", ["autoscaling:SetInstanceProtection"]],
    ["done", []],
    [
      "heartbeat",
      [
        "autoscaling:CompleteLifecycleAction",
        "autoscaling:RecordLifecycleActionHeartbeat",
        "autoscaling:SetInstanceProtection",
      ],
    ],
    ["nodes", []],
    ["streams", []],
    ["events", []],
    ["not-found", []],
    [
      "scaler",
      [
        "autoscaling:CompleteLifecycleAction",
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:SetDesiredCapacity",
        "autoscaling:SetInstanceProtection",
        "autoscaling:TerminateInstanceInAutoScalingGroup",
      ],
    ],
    ["lifecycle", ["autoscaling:CompleteLifecycleAction"]],
  ] as const)("%s may call the Auto Scaling actions %j only", (entry, expected) => {
    expect([...actionsOf(statementsOf(roleIdOf(entry)), "autoscaling:")].sort()).toEqual([...expected]);
  });

  it("allows Auto Scaling changes on this fleet's group only; only describing takes '*'", () => {
    for (const entry of functionEntries()) {
      for (const statement of statementsOf(roleIdOf(entry))) {
        const changes = list<string>(statement.Action).filter(
          (a) => a.startsWith("autoscaling:") && a !== "autoscaling:DescribeAutoScalingGroups",
        );
        if (changes.length > 0) expect([entry, statement.Resource]).toEqual([entry, groupArn()]);
      }
    }
  });

  it("the publish Lambda can protect instances of the group only, and cannot read the operator token", () => {
    const statements = statementsOf(roleIdOf("publish"));
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: "autoscaling:SetInstanceProtection", Resource: groupArn() }),
    );
    expect(JSON.stringify(statements)).not.toContain(idOf(fleet.operatorTokenSecret));
    expect(statements.filter((s) => list(s.Resource).includes("*"))).toEqual([]);
  });

  it("grants no wildcard action anywhere, and '*' resources only for reads and Session Manager calls without resource ARNs", () => {
    const allowedOnStar = new Set([
      "autoscaling:DescribeAutoScalingGroups",
      "cloudwatch:GetMetricData",
      "ssm:UpdateInstanceInformation",
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
    ]);
    const policies = Object.values(resources).flatMap((r) => {
      if (r.Type === "AWS::IAM::Policy") return [r.Properties.PolicyDocument];
      if (r.Type === "AWS::IAM::Role") return (r.Properties.Policies ?? []).map((p: Json) => p.PolicyDocument);
      return [];
    });
    expect(policies.length).toBeGreaterThan(ENTRIES);
    for (const statement of policies.flatMap((p) => p.Statement)) {
      const actions = list<string>(statement.Action);
      expect(actions.filter((a) => a.includes("*"))).toEqual([]);
      if (list(statement.Resource).includes("*")) {
        expect(actions.filter((a) => !allowedOnStar.has(a) && !a.startsWith("ec2:Describe"))).toEqual([]);
      }
    }
  });

  it("lets only resolve and publish invoke the scaler, and only the scaler", () => {
    for (const entry of functionEntries()) {
      const invokes = statementsOf(roleIdOf(entry)).filter((s) => list(s.Action).includes("lambda:InvokeFunction"));
      if (entry !== "resolve" && entry !== "publish") {
        expect([entry, invokes]).toEqual([entry, []]);
        continue;
      }
      const scalerArn = { "Fn::GetAtt": [idOf(fleet.functions.scaler.function), "Arn"] };
      expect(invokes.flatMap((s) => list(s.Resource))).toEqual([
        scalerArn,
        { "Fn::Join": ["", [scalerArn, ":$LATEST"]] },
      ]);
    }
  });

  it("lets the operator views read the table but not write it, and not-found touch nothing", () => {
    for (const entry of ["nodes", "streams", "events", "status"] as const) {
      const dynamo = actionsOf(statementsOf(roleIdOf(entry)), "dynamodb:");
      expect(dynamo.has("dynamodb:Query")).toBe(true);
      for (const write of ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"]) {
        expect(dynamo.has(`dynamodb:${write}`)).toBe(false);
      }
    }
    const notFound = statementsOf(roleIdOf("not-found")).flatMap((s) => list<string>(s.Action));
    expect(notFound.sort()).toEqual(["logs:CreateLogStream", "logs:PutLogEvents"]);
  });

  it("lets the Lambdas that register nodes (lifecycle, scaler) manage parameters under the node-secret path only", () => {
    for (const entry of ["lifecycle", "scaler"] as const) {
      const ssm = statementsOf(roleIdOf(entry)).filter((s) => list<string>(s.Action).some((a) => a.startsWith("ssm:")));
      expect([entry, ssm]).toEqual([
        entry,
        [
          expect.objectContaining({
            Action: ["ssm:AddTagsToResource", "ssm:DeleteParameter", "ssm:GetParameter", "ssm:PutParameter"],
            Resource: nodeSecretArn("*"),
          }),
        ],
      ]);
    }
    for (const entry of functionEntries().filter((e) => e !== "lifecycle" && e !== "scaler")) {
      expect([entry, [...actionsOf(statementsOf(roleIdOf(entry)), "ssm:")]]).toEqual([entry, []]);
    }
  });

  it("lets each node read its own secret parameter only (tagged with its instance's ARN) and use Session Manager", () => {
    const statements = statementsOf(idOf(fleet.nodeRole));
    expect(statements).toEqual([
      {
        Effect: "Allow",
        Action: [
          "ssm:UpdateInstanceInformation",
          "ssmmessages:CreateControlChannel",
          "ssmmessages:CreateDataChannel",
          "ssmmessages:OpenControlChannel",
          "ssmmessages:OpenDataChannel",
        ],
        Resource: "*",
      },
      {
        Effect: "Allow",
        Action: "ssm:GetParameter",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the IAM policy variable, verbatim
        Condition: { StringEquals: { "aws:ResourceTag/rtmp-fleet:instance": "${ec2:SourceInstanceARN}" } },
        Resource: nodeSecretArn("*"),
      },
    ]);
    // No managed policy: AmazonSSMManagedInstanceCore would allow ssm:GetParameter on every parameter.
    expect(resources[idOf(fleet.nodeRole)]?.Properties.ManagedPolicyArns).toBeUndefined();
  });
});

describe("registry table", () => {
  it("has the registry's keys, on-demand billing, point-in-time recovery and TTL, and is retained", () => {
    template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: {
        KeySchema: [
          { AttributeName: REGISTRY_TABLE.partitionKey, KeyType: "HASH" },
          { AttributeName: REGISTRY_TABLE.sortKey, KeyType: "RANGE" },
        ],
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: REGISTRY_TABLE.partitionKey, AttributeType: "S" },
          { AttributeName: REGISTRY_TABLE.sortKey, AttributeType: "S" },
        ]),
        BillingMode: "PAY_PER_REQUEST",
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: REGISTRY_TABLE.ttlAttribute, Enabled: true },
        DeletionProtectionEnabled: true,
      },
    });
  });
});

describe("media nodes", () => {
  it("is a group with a fixed name, min/max from the fleet config, no desired capacity, protected from scale-in", () => {
    const group = resources[idOf(fleet.group)];
    expect(group?.Properties).toMatchObject({
      AutoScalingGroupName: "RtmpFleet-media-nodes",
      MinSize: String(DEFAULT_FLEET_CONFIG.minNodes),
      MaxSize: String(DEFAULT_FLEET_CONFIG.maxNodes),
      NewInstancesProtectedFromScaleIn: true,
      TerminationPolicies: ["NewestInstance"],
      LaunchTemplate: { LaunchTemplateId: { Ref: idOf(fleet.launchTemplate) } },
    });
    expect(group?.Properties).not.toHaveProperty("DesiredCapacity");
    expect(group?.Properties).not.toHaveProperty("LaunchConfigurationName");
    template.resourceCountIs("AWS::AutoScaling::LaunchConfiguration", 0);
  });

  it("holds launches until the node is ready (abandon) and terminations for the lifecycle Lambda (continue)", () => {
    expect(resources[idOf(fleet.group)]?.Properties.LifecycleHookSpecificationList).toEqual([
      {
        LifecycleHookName: LIFECYCLE.launchHook,
        LifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
        HeartbeatTimeout: 600,
        DefaultResult: "ABANDON",
      },
      {
        LifecycleHookName: LIFECYCLE.terminateHook,
        LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
        HeartbeatTimeout: 120,
        DefaultResult: "CONTINUE",
      },
    ]);
    // Inline, so the nodes launched with the group go through the hook too.
    template.resourceCountIs("AWS::AutoScaling::LifecycleHook", 0);
  });

  it("is created after the lifecycle rule, the API and the Lambdas its first nodes need", () => {
    const dependsOn: string[] = resources[idOf(fleet.group)]?.DependsOn ?? [];
    const needed = [
      idOf(fleet.lifecycleRule),
      idOf(fleet.stage),
      idOf(fleet.functions.lifecycle.function),
      idOf(fleet.functions.heartbeat.function),
    ];
    expect(dependsOn).toEqual(expect.arrayContaining(needed));
  });

  it("suspends AZRebalance on the group at deploy time", () => {
    const call = new Capture();
    template.hasResourceProperties("Custom::SuspendAzRebalance", { Create: call, Update: call });
    expect(JSON.parse(call.asString())).toMatchObject({
      service: "AutoScaling",
      action: "SuspendProcesses",
      parameters: { AutoScalingGroupName: "RtmpFleet-media-nodes", ScalingProcesses: ["AZRebalance"] },
    });
  });

  it("launches Ubuntu 24.04 from the public SSM parameter, IMDSv2 only, detailed monitoring, no SSH key, encrypted", () => {
    const data = resources[idOf(fleet.launchTemplate)]?.Properties.LaunchTemplateData;
    expect(data).toMatchObject({
      InstanceType: "c6i.large",
      MetadataOptions: {
        HttpTokens: "required",
        HttpPutResponseHopLimit: 1,
        HttpEndpoint: "enabled",
        InstanceMetadataTags: "enabled",
      },
      Monitoring: { Enabled: true },
      BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: { Encrypted: true, VolumeType: "gp3" } }],
      NetworkInterfaces: [
        {
          AssociatePublicIpAddress: true,
          DeviceIndex: 0,
          Groups: [{ "Fn::GetAtt": [idOf(fleet.securityGroup), "GroupId"] }],
        },
      ],
      IamInstanceProfile: { Arn: expect.anything() },
    });
    expect(data).not.toHaveProperty("KeyName");
    const parameter = template.toJSON().Parameters[data.ImageId.Ref];
    expect(parameter).toEqual({
      Type: "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
      Default: "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id",
    });
  });

  it("tags each node with the fleet's settings, which its instance metadata shows (InstanceMetadataTags)", () => {
    const data = resources[idOf(fleet.launchTemplate)]?.Properties.LaunchTemplateData;
    expect(data.MetadataOptions.InstanceMetadataTags).toBe("enabled");
    const instanceTags: { Key: string; Value: unknown }[] = data.TagSpecifications.find(
      (spec: Json) => spec.ResourceType === "instance",
    ).Tags;
    expect(instanceTags).toEqual(
      expect.arrayContaining([
        { Key: NODE_SETTING_TAGS.apiUrl, Value: { "Fn::GetAtt": [idOf(fleet.api), "ApiEndpoint"] } },
        { Key: NODE_SETTING_TAGS.secretParameterPrefix, Value: "/rtmp-fleet/RtmpFleet/node-secrets" },
        { Key: NODE_SETTING_TAGS.heartbeatSeconds, Value: String(DEFAULT_FLEET_CONFIG.heartbeatSeconds) },
      ]),
    );
    // With tags in instance metadata, EC2 refuses to launch an instance with any other tag key.
    const refused = instanceTags
      .map((tag) => tag.Key)
      .filter((key) => !/^[A-Za-z0-9+\-=.,_:@]+$/.test(key) || [".", "..", "_index"].includes(key));
    expect(refused).toEqual([]);
  });

  it("opens RTMP 1935 from the camera CIDR and nothing else", () => {
    const sg = resources[idOf(fleet.securityGroup)]?.Properties;
    expect(sg.SecurityGroupIngress).toEqual([
      { CidrIp: "0.0.0.0/0", Description: "RTMP from cameras", FromPort: 1935, IpProtocol: "tcp", ToPort: 1935 },
    ]);
    expect(sg.SecurityGroupEgress.map((rule: Json) => rule.FromPort).sort()).toEqual([443, 80]);
    template.resourceCountIs("AWS::EC2::SecurityGroupIngress", 0);
  });

  it("runs in a new VPC: public subnets in 2 zones, no NAT gateway, flow logs on", () => {
    template.resourceCountIs("AWS::EC2::VPC", 1);
    template.resourceCountIs("AWS::EC2::Subnet", 2);
    template.resourceCountIs("AWS::EC2::NatGateway", 0);
    template.hasResourceProperties("AWS::EC2::FlowLog", { TrafficType: "ALL", LogDestinationType: "cloud-watch-logs" });
  });
});

/** The user data of this repository's node files, as every stack ships it. */
const USER_DATA = mediaNodeUserData();

describe("media-node user data", () => {
  let userData: Buffer;
  let script: string;

  beforeAll(() => {
    const data = resources[idOf(fleet.launchTemplate)]?.Properties.LaunchTemplateData.UserData;
    // A literal: no token (no Fn::Base64, no Fn::Join) in it.
    expect(typeof data).toBe("string");
    userData = Buffer.from(data, "base64");
    script = gunzipSync(userData).toString("utf8");
  });

  it(`is ${USER_DATA.length} bytes gzip-compressed, ${USER_DATA_LIMIT_BYTES - USER_DATA.length} under EC2's 16 KB limit (1 KB must stay free)`, () => {
    expect(userData).toEqual(USER_DATA);
    expect(userData.length).toBeLessThan(USER_DATA_LIMIT_BYTES - 1024);
  });

  it("is gzip that cloud-init recognizes, the same bytes at every synth: no time, no file name, no operating system", () => {
    // RFC 1952: magic 1f 8b, deflate (8), no flags (no name, comment or extra field), mtime 0, OS 255.
    expect([...userData.subarray(0, 8), userData[9]]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 255]);
    expect(mediaNodeUserData()).toEqual(userData);
  });

  it("decompresses to a script with no token and no deploy-time value: bootstrap.sh reads the instance's tags", () => {
    expect(script.startsWith("#!/bin/bash\n")).toBe(true);
    expect(script).not.toMatch(/\$\{Token\[|Fn::|execute-api|RtmpFleet/);
    expect(script).not.toContain(fleet.nodeSecretParameterPrefix);
    expect(script.endsWith(`\nexec ${NODE_FILES_DIR}/bootstrap.sh\n`)).toBe(true);
  });

  it("carries the media-node files exactly as they are in the repository (one template, no copy)", () => {
    const written = new RegExp(`^cat >(\\S+) <<'${FILE_END_MARKER}'\\n([\\s\\S]*?)^${FILE_END_MARKER}$`, "gm");
    const files = Object.fromEntries([...script.matchAll(written)].map(([, name, text]) => [name, text]));
    expect(Object.keys(files).sort()).toEqual([...MEDIA_NODE_FILES].sort());
    for (const name of MEDIA_NODE_FILES) {
      expect([name, files[name]]).toEqual([name, readFileSync(path.join(MEDIA_NODE_SOURCE_DIR, name), "utf8")]);
    }
    expect(script).toContain("chmod 0755 bootstrap.sh\n");
  });

  describe("refuses node files it cannot ship, naming the file", () => {
    /** A copy of media-node/ with `name` holding `text`. */
    function sourceWith(name: string, text: string): string {
      const dir = tempDir("media-node");
      for (const file of MEDIA_NODE_FILES) copyFileSync(path.join(MEDIA_NODE_SOURCE_DIR, file), path.join(dir, file));
      writeFileSync(path.join(dir, name), text);
      return dir;
    }

    it.each([
      ["a file without a final newline", "agent.py", "print('hi')", /media-node\/agent\.py must end with a newline/],
      [
        "a line that would end the file early",
        "render_node.py",
        `# ok\n${FILE_END_MARKER}\nrm -rf /\n`,
        /media-node\/render_node\.py has a line 'RTMP_NODE_FILE_END'/,
      ],
      [
        "files that no longer fit EC2's limit",
        "agent.py",
        `${Array.from({ length: 800 }, (_, i) => `# ${(i * 2654435761) % 4294967296} ${Math.sin(i)}`).join("\n")}\n`,
        /the media-node user data is \d+ bytes gzip-compressed, above EC2's 16384/,
      ],
    ])("%s", (_case, name, text, error) => {
      expect(() => mediaNodeUserData(sourceWith(name, text))).toThrow(error);
    });
  });
});

describe("secrets", () => {
  it("are generated by Secrets Manager: no value, no dynamic reference anywhere in the template", () => {
    for (const secret of [fleet.cameraMasterSecret, fleet.operatorTokenSecret]) {
      const props = secret && resources[idOf(secret)]?.Properties;
      expect(props).toMatchObject({ GenerateSecretString: { ExcludePunctuation: true, PasswordLength: 48 } });
      expect(props).not.toHaveProperty("SecretString");
    }
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/resolve:secretsmanager|resolve:ssm-secure|"SecretString"/);
  });
});

describe("events", () => {
  it("runs the scaler every minute", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(1 minute)",
      State: "ENABLED",
      Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [idOf(fleet.functions.scaler.function), "Arn"] } })],
    });
  });

  it("sends this group's launch and terminate lifecycle actions to the lifecycle Lambda", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: {
        source: ["aws.autoscaling"],
        "detail-type": [LIFECYCLE.launchEvent, LIFECYCLE.terminateEvent],
        detail: { AutoScalingGroupName: ["RtmpFleet-media-nodes"] },
      },
      Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [idOf(fleet.functions.lifecycle.function), "Arn"] } })],
    });
    template.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      Principal: "events.amazonaws.com",
      FunctionName: { "Fn::GetAtt": [idOf(fleet.functions.lifecycle.function), "Arn"] },
    });
  });
});

describe("monitoring", () => {
  let body: string;

  beforeAll(() => {
    body = JSON.stringify(resources[idOf(fleet.dashboard)]?.Properties.DashboardBody);
  });

  it("has a dashboard of nodes by state, CPU per node, streams, resolves, 503s and scale actions", () => {
    template.hasResourceProperties("AWS::CloudWatch::Dashboard", { DashboardName: "RtmpFleet-fleet" });
    // Every control-plane metric is graphed; the per-node CPU through the SEARCH below.
    for (const name of Object.values(METRIC).filter((n) => n !== METRIC.nodeCpu)) {
      expect([name, body.includes(`\\"${name}\\"`)]).toEqual([name, true]);
    }
    expect(body).toContain(
      `SEARCH('{RtmpFleet,NodeId,service} MetricName=\\\\\\"NodeCpuPercent\\\\\\" service=\\\\\\"RtmpFleet\\\\\\"', 'Maximum', 60)`,
    );
    expect(body).toContain('\\"AWS/EC2\\",\\"CPUUtilization\\",\\"AutoScalingGroupName\\",\\"RtmpFleet-media-nodes\\"');
  });

  it("marks the 80% threshold on the CPU placement reads (the agents'), and not on EC2's whole-instance CPU", () => {
    // The body is a Join of text and tokens (region, names): the tokens become "?" to read it as JSON.
    const parts: unknown[] = resources[idOf(fleet.dashboard)]?.Properties.DashboardBody["Fn::Join"][1];
    const widgets: Json[] = JSON.parse(parts.map((p) => (typeof p === "string" ? p : "?")).join("")).widgets;
    const graphOf = (metric: string) =>
      widgets.find((w) => JSON.stringify(w.properties.metrics ?? []).includes(metric));
    const thresholds = (w: Json | undefined) => (w?.properties.annotations?.horizontal ?? []).map((a: Json) => a.value);
    const agents = graphOf("NodeCpuPercent");
    const ec2 = graphOf("CPUUtilization");
    expect(agents?.properties.title).toBe("Node CPU as placement reads it (nginx worker, % of one core)");
    expect(thresholds(agents)).toEqual([80]);
    expect(ec2?.properties.title).toBe(
      "Instance CPU, whole machine (EC2 CPUUtilization, % of all vCPUs): not what placement uses",
    );
    expect(thresholds(ec2)).toEqual([]);
  });

  it("alarms on Lambda errors, a stopped scaler, sustained 503s, API 5xx, throttling and dead nodes, to the topic", () => {
    const alarms = template.findResources("AWS::CloudWatch::Alarm");
    const names = Object.values(alarms).map((a: Json) => a.Properties.AlarmName);
    expect(names).toEqual(
      expect.arrayContaining([
        ...Object.values(fleet.functions).map((fn) => `RtmpFleet-${fn.node.id}Errors`),
        "RtmpFleet-ScalerNotRunning",
        "RtmpFleet-NoCapacitySustained",
        "RtmpFleet-Api5xx",
        "RtmpFleet-RegistryThrottled",
        "RtmpFleet-ScalerStepsFailing",
        "RtmpFleet-NodesDead",
        "RtmpFleet-NodeWritesRefused",
        "RtmpFleet-NodesSilent",
        "RtmpFleet-SilenceBreakerOpen",
      ]),
    );
    for (const alarm of Object.values(alarms)) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: idOf(fleet.alarmTopic) }]);
    }
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: "RtmpFleet-ScalerNotRunning",
      ComparisonOperator: "LessThanThreshold",
      TreatMissingData: "breaching",
      MetricName: "Invocations",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: idOf(fleet.functions.scaler.function) } }],
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: "RtmpFleet-NoCapacitySustained",
      Metrics: [
        Match.objectLike({
          MetricStat: {
            Metric: {
              Namespace: "RtmpFleet",
              MetricName: METRIC.resolveNoCapacity,
              Dimensions: [{ Name: "service", Value: "RtmpFleet" }],
            },
            Period: 60,
            Stat: "Sum",
          },
        }),
      ],
      EvaluationPeriods: 10,
      DatapointsToAlarm: 10,
    });
  });
});

describe("outputs", () => {
  it("tell the operator where cameras resolve, how to publish, and where the dashboard and secrets are", () => {
    const outputs = template.toJSON().Outputs;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        "ApiUrl",
        "ResolveUrl",
        "PublishExample",
        "DashboardName",
        "CameraMasterSecretArn",
        "OperatorTokenSecretArn",
        "MediaNodeGroupName",
        "NodeSecretParameterPrefix",
        "RegistryTableName",
        "AlarmTopicArn",
      ]),
    );
    expect(outputs.ResolveUrl.Value).toEqual({
      "Fn::Join": ["", [{ "Fn::GetAtt": [idOf(fleet.api), "ApiEndpoint"] }, "/resolve"]],
    });
    const example = JSON.stringify(outputs.PublishExample.Value);
    expect(example).toMatch(/ffmpeg -re -f lavfi -i testsrc/);
    expect(example).toContain("/resolve?stream=cam42&key=$KEY");
    if (!fleet.cameraMasterSecret) throw new Error("camera keys are on by default");
    expect(outputs.CameraMasterSecretArn.Value).toEqual({ Ref: idOf(fleet.cameraMasterSecret) });
  });
});

describe("cdk-nag AwsSolutions", () => {
  it("leaves no finding unacknowledged (errors and warnings)", () => {
    expect(nagFindings(fleetApp.stack)).toEqual([]);
  });

  it("does report a finding that nothing acknowledges (the check can fail)", () => {
    const probe = templateOf({ stackName: "NagProbe" }).fleetApp.stack;
    probe.fleet.functions.done.role.addToPrincipalPolicy(new PolicyStatement({ actions: ["s3:*"], resources: ["*"] }));
    expect(nagFindings(probe)).toEqual(
      expect.arrayContaining([expect.stringMatching(/AwsSolutions-IAM5\[Action::s3:\*\] at NagProbe\/Fleet\/Done/)]),
    );
  });

  it("gives every acknowledgement a specific reason, each listed in docs/DEPLOY.md", () => {
    const acknowledged = new Map<string, string>();
    for (const construct of fleetApp.stack.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [key, reason] of Object.entries(entry.data as Record<string, string>)) {
          // CDK's own constructs acknowledge rules of other validators (e.g. CloudFormation-Validate::...).
          const id = key.replace(/^annotation::/i, "");
          if (id.startsWith("AwsSolutions-")) acknowledged.set(id, reason);
        }
      }
    }
    expect(acknowledged.size).toBeGreaterThan(0);
    const doc = readFileSync(path.join(ROOT, "docs", "DEPLOY.md"), "utf8");
    for (const [id, reason] of acknowledged) {
      expect([id, reason.length >= 80]).toEqual([id, true]);
      const rule = id.replace(/\[.*$/, "");
      expect([rule, doc.includes(rule)]).toEqual([rule, true]);
    }
  });
});

describe("cfn-lint", () => {
  it("finds no error in the template", () => {
    expect(cfnLintErrors([writeTemplate(fleetApp.stack, "default")])).toEqual([]);
  });
});

it("synthesizes without lookups (no context provider asked)", () => {
  expect(fleetApp.app.synth().manifest.missing ?? []).toEqual([]);
});
