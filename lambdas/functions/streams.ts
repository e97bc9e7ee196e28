/** Lambda entry point: `createStreamsHandler` over the AWS adapters, built once per cold start. */
import { awsApiDeps } from "../adapters/aws-env";
import { createStreamsHandler } from "../handlers/views";

export const handler = createStreamsHandler(awsApiDeps());
