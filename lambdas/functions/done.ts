/** Lambda entry point: `createDoneHandler` over the AWS adapters, built once per cold start. */
import { awsApiDeps } from "../adapters/aws-env";
import { createDoneHandler } from "../handlers/hooks";

export const handler = createDoneHandler(awsApiDeps());
