/**
 * The app's settings from CDK context: defaults, the forms the command line gives, and a bad value
 * failing synth with a message that names its key (in process, and through the real CDK CLI).
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { ConfigError, DEFAULT_FLEET_CONFIG } from "../../lambdas/core/config";
import { DEFAULT_STACK_NAME, readAppSettings, SETTING_KEYS } from "../../lib/app-settings";
import { RTMP_FLEET_DEFAULTS } from "../../lib/rtmp-fleet";
import { buildApp, cdkJsonContext, ROOT, SKIP_BUNDLING, tempDir } from "./helpers";

/** The error message of reading these settings, or "" when they are valid. */
function problemOf(context: Record<string, unknown>): string {
  try {
    readAppSettings(context);
    return "";
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
}

const CERTIFICATE_ARN = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9";

describe("readAppSettings", () => {
  it("takes every default when the context is empty", () => {
    const settings = readAppSettings({});
    expect(settings.stackName).toBe(DEFAULT_STACK_NAME);
    expect(settings.fleet).toEqual(DEFAULT_FLEET_CONFIG);
    expect(settings.instanceType).toBeUndefined();
    expect(settings.existingVpc).toBeUndefined();
  });

  it("cdk.json's context states the same defaults as the code", () => {
    const context = cdkJsonContext();
    expect(context.fleet).toEqual({ ...DEFAULT_FLEET_CONFIG });
    expect(context).toMatchObject({
      stackName: DEFAULT_STACK_NAME,
      instanceType: RTMP_FLEET_DEFAULTS.instanceType,
      cameraCidrs: [...RTMP_FLEET_DEFAULTS.cameraCidrs],
      logRetentionDays: RTMP_FLEET_DEFAULTS.logRetentionDays,
      tableRemovalPolicy: "retain",
      apiRateLimit: RTMP_FLEET_DEFAULTS.apiRateLimit,
      apiBurstLimit: RTMP_FLEET_DEFAULTS.apiBurstLimit,
      requireCameraKeys: RTMP_FLEET_DEFAULTS.requireCameraKeys,
      viewerAccess: RTMP_FLEET_DEFAULTS.viewerAccess,
      fixedIngest: RTMP_FLEET_DEFAULTS.fixedIngest,
    });
    expect(() => readAppSettings(context)).not.toThrow();
  });

  it("documents every key in docs/DEPLOY.md", () => {
    const doc = require("node:fs").readFileSync(path.join(ROOT, "docs", "DEPLOY.md"), "utf8") as string;
    for (const key of SETTING_KEYS) expect(doc).toContain(`\`${key}\``);
  });

  it("reads the strings the command line gives (-c key=value)", () => {
    const settings = readAppSettings({
      fleet: '{"minNodes": 2, "maxNodes": 20}',
      "fleet.bufferNodes": "3",
      cameraCidrs: "203.0.113.0/24, 198.51.100.0/25",
      logRetentionDays: "90",
      apiRateLimit: "12.5",
      apiBurstLimit: "40",
      requireCameraKeys: "false",
      tableRemovalPolicy: "destroy",
      instanceType: "c7g.xlarge",
      instanceArchitecture: "arm64",
      nodeImageId: "ami-0123456789abcdef0",
      vpcId: "vpc-0123456789abcdef0",
      publicSubnetIds: '["subnet-0123456789abcdef0","subnet-0fedcba9876543210"]',
      availabilityZones: "eu-west-1a,eu-west-1b",
      alarmEmail: "ops@example.com",
    });
    expect(settings).toMatchObject({
      fleet: { ...DEFAULT_FLEET_CONFIG, minNodes: 2, maxNodes: 20, bufferNodes: 3 },
      cameraCidrs: ["203.0.113.0/24", "198.51.100.0/25"],
      logRetentionDays: RetentionDays.THREE_MONTHS,
      apiRateLimit: 12.5,
      apiBurstLimit: 40,
      requireCameraKeys: false,
      tableRemovalPolicy: "destroy",
      instanceType: "c7g.xlarge",
      instanceArchitecture: "arm64",
      nodeImageId: "ami-0123456789abcdef0",
      existingVpc: {
        vpcId: "vpc-0123456789abcdef0",
        publicSubnetIds: ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
        availabilityZones: ["eu-west-1a", "eu-west-1b"],
      },
      alarmEmail: "ops@example.com",
    });
  });

  it.each([
    ["fleet", { fleet: { minNodes: -1 } }, /'fleet': 'minNodes' must be at least 0/],
    ["fleet", { fleet: { maxNode: 3 } }, /'fleet': unknown key 'maxNode'/],
    ["fleet", { "fleet.minNodes": "12" }, /'fleet': 'maxNodes' \(10\) must be at least 'minNodes' \(12\)/],
    ["fleet", { fleet: "not json" }, /'fleet' must be an object/],
    ["fleet", { "fleet.logLevel": "verbose" }, /'fleet': 'logLevel' must be one of debug, info, warn, error/],
    ["stackName", { stackName: "1fleet" }, /'stackName' must be a stack name/],
    ["instanceType", { instanceType: "huge" }, /'instanceType' must be an EC2 instance type/],
    ["instanceArchitecture", { instanceArchitecture: "arm" }, /'instanceArchitecture' must be x86_64 or arm64/],
    ["nodeImageId", { nodeImageId: "ubuntu-24.04" }, /'nodeImageId' must be an AMI id such as ami-0123456789abcdef0/],
    ["fleet", { "fleet.warmPoolSize": "11" }, /'fleet': 'warmPoolSize' \(11\) must be at most 'maxNodes' \(10\)/],
    ["cameraCidrs", { cameraCidrs: "10.0.0.1/8" }, /'cameraCidrs' must be a list of IPv4 CIDR blocks/],
    ["cameraCidrs", { cameraCidrs: [] }, /'cameraCidrs' must be a list of 1 to 50/],
    ["vpcId", { vpcId: "vpc-0123456789abcdef0" }, /'vpcId', 'publicSubnetIds' and 'availabilityZones' go together/],
    [
      "publicSubnetIds",
      { vpcId: "vpc-01234567", publicSubnetIds: "subnet-01234567", availabilityZones: "eu-west-1a,eu-west-1b" },
      /one subnet per zone/,
    ],
    [
      "logRetentionDays",
      { logRetentionDays: 31 },
      /'logRetentionDays' must be one of CloudWatch Logs' retention periods/,
    ],
    ["tableRemovalPolicy", { tableRemovalPolicy: "snapshot" }, /'tableRemovalPolicy' must be retain or destroy/],
    ["apiRateLimit", { apiRateLimit: 0 }, /'apiRateLimit' must be requests per second/],
    ["apiBurstLimit", { apiBurstLimit: 2.5 }, /'apiBurstLimit' must be a whole number/],
    ["alarmEmail", { alarmEmail: "ops" }, /'alarmEmail' must be an email address/],
    ["requireCameraKeys", { requireCameraKeys: "yes" }, /'requireCameraKeys' must be true or false/],
  ])("refuses a bad %s, naming it", (_key, context, message) => {
    expect(problemOf(context)).toMatch(message);
  });

  it("reads the node routes' limits and the reserved concurrency, with cdk.json's defaults the code's", () => {
    expect(cdkJsonContext()).toMatchObject({
      nodeApiRateLimit: RTMP_FLEET_DEFAULTS.nodeApiRateLimit,
      nodeApiBurstLimit: RTMP_FLEET_DEFAULTS.nodeApiBurstLimit,
      reservedConcurrency: RTMP_FLEET_DEFAULTS.reservedConcurrency,
    });
    expect(
      readAppSettings({ nodeApiRateLimit: "250", nodeApiBurstLimit: "500", reservedConcurrency: "0" }),
    ).toMatchObject({ nodeApiRateLimit: 250, nodeApiBurstLimit: 500, reservedConcurrency: 0 });
  });

  it.each([
    [{ nodeApiRateLimit: 0 }, /'nodeApiRateLimit' must be requests per second, above 0/],
    [{ nodeApiBurstLimit: 1.5 }, /'nodeApiBurstLimit' must be a whole number of requests, 1 to 5000/],
    [{ reservedConcurrency: -1 }, /'reservedConcurrency' must be a whole number of concurrent executions, 0 \(off\)/],
    [{ fixedIngest: "yes" }, /'fixedIngest' must be true or false/],
    [{ fixedIngest: true, ingestCertificateArn: "my-cert" }, /'ingestCertificateArn' must be an ACM certificate ARN/],
    [{ ingestCertificateArn: CERTIFICATE_ARN }, /'ingestCertificateArn' needs 'fixedIngest' true/],
    [{ ingestDomainName: "ingest.example.com" }, /'ingestDomainName' needs 'fixedIngest' true/],
    [{ fixedIngest: true, ingestDomainName: "not a name" }, /'ingestDomainName' must be a lower-case DNS name/],
  ])("refuses %j", (context, message) => {
    expect(() => readAppSettings(context)).toThrow(message);
  });

  it("names every bad key at once", () => {
    const message = problemOf({ apiRateLimit: -1, alarmEmail: "x", fleet: { heartbeatSeconds: 0 } });
    expect(message).toMatch(/^invalid cdk\.json context: /);
    for (const key of ["apiRateLimit", "alarmEmail", "heartbeatSeconds"]) expect(message).toContain(`'${key}'`);
  });
});

describe("synth with a bad context value", () => {
  it("fails in process before building anything", () => {
    expect(() => buildApp({ instanceType: "not-a-type" })).toThrow(/'instanceType' must be an EC2 instance type/);
  });

  it("fails on a bad combination the construct refuses, naming both keys", () => {
    expect(() => buildApp({ ...SKIP_BUNDLING, requireCameraKeys: false })).toThrow(
      /invalid RtmpFleet props \(RtmpFleet\/Fleet\): requireCameraKeys false needs cameraCidrs narrower than \/0/,
    );
  });

  it("fails `cdk synth` with a message naming the key, and no stack trace", () => {
    const result = spawnSync(
      "npx",
      ["cdk", "synth", "--quiet", "-c", "apiBurstLimit=0", "-o", path.join(tempDir("cdk-bad"), "cdk.out")],
      { cwd: ROOT, encoding: "utf8", timeout: 120_000 },
    );
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/invalid cdk\.json context: 'apiBurstLimit' must be a whole number of requests/);
    expect(result.stderr).not.toMatch(/at .*\.ts:\d+/);
  });
});
