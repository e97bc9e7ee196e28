/** Lambda entry point: `createEventsHandler` over the AWS adapters, built once per cold start. */
import { awsApiDeps } from "../adapters/aws-env";
import { createEventsHandler } from "../handlers/views";

export const handler = createEventsHandler(awsApiDeps());
