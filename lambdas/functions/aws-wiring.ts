/**
 * The composition root of the Lambdas: their environment, read once at cold start, and the AWS
 * adapters built from it, handed to the handlers. A missing or bad variable fails the cold start
 * with a message naming it.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SSMClient } from "@aws-sdk/client-ssm";
import { AsgFleet } from "../adapters/asg-fleet";
import { AwsMachineEvidence } from "../adapters/aws-machine-evidence";
import { SecretsManagerSource } from "../adapters/aws-secrets";
import { DynamoRegistry } from "../adapters/dynamo-registry";
import { Ec2InstanceAddresses } from "../adapters/ec2-instance-addresses";
import { ElbIngestTarget } from "../adapters/elb-ingest-target";
import { DebouncedScaleOut, invokeScaler } from "../adapters/scale-out";
import { SsmNodeCredentials } from "../adapters/ssm-node-credentials";
import { PowertoolsTelemetry } from "../adapters/telemetry";
import { ENV } from "../contract";
import { type FleetConfig, type LogLevel, parseFleetConfig } from "../core/config";
import type { ApiDeps } from "../handlers/api";
import type { LifecycleDeps } from "../handlers/lifecycle";
import type { ScalerHandlerDeps } from "../handlers/scaler";

/** Reads one variable. @throws Error naming it when it is missing */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is missing (the CDK stack sets it)`);
  return value;
}

/** The policy from FLEET_CONFIG (JSON), validated. */
export function fleetConfigFromEnv(env: NodeJS.ProcessEnv = process.env): FleetConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(env[ENV.fleetConfig] ?? "{}");
  } catch {
    throw new Error(`environment variable ${ENV.fleetConfig} is not valid JSON`);
  }
  return parseFleetConfig(raw as Record<string, unknown>, `environment variable ${ENV.fleetConfig}`);
}

/** The fleet's name (the stack's): the logs' and metrics' `service`. */
const fleetName = (env: NodeJS.ProcessEnv) => env[ENV.serviceName] || "rtmp-fleet";
/** The fleet's `logLevel` knob, validated as everywhere else. @throws ConfigError naming the variable */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel {
  return parseFleetConfig({ logLevel: env[ENV.logLevel] }, `environment variable ${ENV.logLevel}`).logLevel;
}

/** The Lambdas' logger: the fleet's name as its `service`, at the `logLevel` knob's level. */
export function fleetLogger(env: NodeJS.ProcessEnv = process.env): Logger {
  return new Logger({ serviceName: fleetName(env), logLevel: logLevelFromEnv(env) });
}
const registry = (env: NodeJS.ProcessEnv) => new DynamoRegistry(new DynamoDBClient({}), requireEnv(ENV.table, env));
const fleet = (env: NodeJS.ProcessEnv) =>
  new AsgFleet(new AutoScalingClient({}), {
    groupName: requireEnv(ENV.groupName, env),
    launchHookName: requireEnv(ENV.launchHook, env),
    terminateHookName: requireEnv(ENV.terminateHook, env),
  });
const secrets = (env: NodeJS.ProcessEnv) =>
  new SecretsManagerSource(new SecretsManagerClient({}), {
    cameraMaster: env[ENV.cameraSecret] || undefined,
    operatorToken: env[ENV.operatorSecret] || undefined,
    viewerMaster: env[ENV.viewerSecret] || undefined,
  });

/** Where node secrets are handed out, and where cameras reach the instances: the lifecycle's and the scaler's. */
const nodeLifecycle = (env: NodeJS.ProcessEnv, ec2: EC2Client) => ({
  credentials: new SsmNodeCredentials(
    new SSMClient({}),
    requireEnv(ENV.nodeSecretPrefix, env),
    requireEnv(ENV.instanceArnPrefix, env),
  ),
  addresses: new Ec2InstanceAddresses(ec2),
});

/** The fixed ingest's target, where the stack lets this Lambda move it. */
const ingestTarget = (env: NodeJS.ProcessEnv) => {
  const arn = env[ENV.ingestTargetGroup];
  return arn ? { ingest: new ElbIngestTarget(new ElasticLoadBalancingV2Client({}), arn) } : {};
};

/** The fixed ingest address, where the stack tells this Lambda (`/resolve`). */
const ingestAddress = (env: NodeJS.ProcessEnv) => {
  const host = env[ENV.ingestHost];
  return host ? { ingestAddress: { host, tls: env[ENV.ingestTls] === "true" } } : {};
};

/** What every Lambda of the fleet uses: the registry, the policy, the clock, logs, metrics, the group. */
const common = (env: NodeJS.ProcessEnv) => ({
  registry: registry(env),
  config: fleetConfigFromEnv(env),
  now: Date.now,
  logger: fleetLogger(env),
  telemetry: new PowertoolsTelemetry(fleetName(env)),
  fleet: fleet(env),
});

/** The HTTP handlers' dependencies on AWS. */
export function awsApiDeps(env: NodeJS.ProcessEnv = process.env): ApiDeps {
  const scalerName = env[ENV.scalerFunction];
  return {
    ...common(env),
    secrets: secrets(env),
    cameraCidrs: (env[ENV.cameraCidrs] ?? "").split(",").filter(Boolean),
    ...ingestTarget(env),
    ...ingestAddress(env),
    scaleOut: new DebouncedScaleOut(
      scalerName
        ? invokeScaler(new LambdaClient({}), scalerName)
        : async () => {
            throw new Error(`environment variable ${ENV.scalerFunction} is missing: cannot request a scale-out`);
          },
    ),
  };
}

/** The scaler's dependencies on AWS. */
export function awsScalerDeps(env: NodeJS.ProcessEnv = process.env): ScalerHandlerDeps {
  const ec2 = new EC2Client({});
  return {
    ...common(env),
    ...nodeLifecycle(env, ec2),
    evidence: new AwsMachineEvidence(ec2, new CloudWatchClient({})),
    ...ingestTarget(env),
  };
}

/** The lifecycle handler's dependencies on AWS. */
export function awsLifecycleDeps(env: NodeJS.ProcessEnv = process.env): LifecycleDeps {
  return {
    registry: registry(env),
    now: Date.now,
    logger: fleetLogger(env),
    fleet: fleet(env),
    groupName: requireEnv(ENV.groupName, env),
    ...nodeLifecycle(env, new EC2Client({})),
  };
}
