/**
 * The Lambdas' environment, read once at cold start, and the AWS adapters built from it. A missing
 * or bad variable fails the cold start with a message naming it.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type FleetConfig, parseFleetConfig } from "../core/config";
import type { ApiDeps } from "../handlers/api";
import { type SecretIds, SecretsManagerSource } from "./aws-secrets";
import { DynamoRegistry } from "./dynamo-registry";
import { DebouncedScaleOut, invokeScaler } from "./scale-out";

/** The environment variables the stack sets on every Lambda. */
export const ENV = {
  table: "REGISTRY_TABLE",
  fleetConfig: "FLEET_CONFIG",
  nodeSecret: "NODE_SECRET_ID",
  cameraSecret: "CAMERA_SECRET_ID",
  operatorSecret: "OPERATOR_SECRET_ID",
  scalerFunction: "SCALER_FUNCTION_NAME",
} as const;

/** The parsed environment. */
export interface LambdaEnv {
  readonly tableName: string;
  readonly config: FleetConfig;
  readonly secretIds: SecretIds;
  readonly scalerFunctionName?: string;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`environment variable ${name} is missing (the CDK stack sets it)`);
  return value;
}

/** Reads and validates the environment. @throws Error naming the missing or bad variable */
export function readLambdaEnv(env: NodeJS.ProcessEnv = process.env): LambdaEnv {
  let rawConfig: unknown;
  try {
    rawConfig = JSON.parse(env[ENV.fleetConfig] ?? "{}");
  } catch {
    throw new Error(`environment variable ${ENV.fleetConfig} is not valid JSON`);
  }
  return {
    tableName: required(env, ENV.table),
    config: parseFleetConfig(rawConfig as Record<string, unknown>, `environment variable ${ENV.fleetConfig}`),
    secretIds: {
      nodeMaster: required(env, ENV.nodeSecret),
      cameraMaster: env[ENV.cameraSecret] || undefined,
      operatorToken: env[ENV.operatorSecret] || undefined,
    },
    scalerFunctionName: env[ENV.scalerFunction] || undefined,
  };
}

/** A document client that drops undefined fields, as the registry's records have optional ones. */
export function documentClient(client = new DynamoDBClient({})): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** The HTTP handlers' dependencies on AWS, built from the environment. */
export function awsApiDeps(env: LambdaEnv = readLambdaEnv()): ApiDeps {
  const scalerName = env.scalerFunctionName;
  return {
    registry: new DynamoRegistry(documentClient(), env.tableName),
    config: env.config,
    now: Date.now,
    logger: new Logger({ serviceName: "rtmp-fleet" }),
    secrets: new SecretsManagerSource(new SecretsManagerClient({}), env.secretIds),
    scaleOut: new DebouncedScaleOut(
      scalerName
        ? invokeScaler(new LambdaClient({}), scalerName)
        : async () => {
            throw new Error(`environment variable ${ENV.scalerFunction} is missing: cannot request a scale-out`);
          },
    ),
  };
}
