/** Lambda entry point: `createPublishHandler` over the AWS adapters, built once per cold start. */
import { awsApiDeps } from "../adapters/aws-env";
import { createPublishHandler } from "../handlers/hooks";

export const handler = createPublishHandler(awsApiDeps());
