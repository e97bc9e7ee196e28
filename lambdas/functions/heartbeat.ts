/** Lambda entry point: `createHeartbeatHandler` over the AWS adapters, built once per cold start. */
import { awsApiDeps } from "../adapters/aws-env";
import { createHeartbeatHandler } from "../handlers/heartbeat";

export const handler = createHeartbeatHandler(awsApiDeps());
