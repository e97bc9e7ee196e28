/** Lambda entry point: `createNodesHandler` over the AWS adapters, built once per cold start. */
import { awsApiDeps } from "../adapters/aws-env";
import { createNodesHandler } from "../handlers/views";

export const handler = createNodesHandler(awsApiDeps());
