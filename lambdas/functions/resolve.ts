/** Lambda entry point: `createResolveHandler` over the AWS adapters, built once per cold start. */
import { awsApiDeps } from "../adapters/aws-env";
import { createResolveHandler } from "../handlers/resolve";

export const handler = createResolveHandler(awsApiDeps());
