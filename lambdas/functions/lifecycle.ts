/** Lambda entry point: `createLifecycleHandler` over the AWS adapters, built once per cold start. */
import { awsLifecycleDeps } from "../adapters/aws-env";
import { createLifecycleHandler } from "../handlers/lifecycle";

export const handler = createLifecycleHandler(awsLifecycleDeps());
