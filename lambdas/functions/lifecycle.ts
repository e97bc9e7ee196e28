/** Lambda entry point: `createLifecycleHandler` over the AWS adapters, built once per cold start. */

import { createLifecycleHandler } from "../handlers/lifecycle";
import { awsLifecycleDeps } from "./aws-wiring";

export const handler = createLifecycleHandler(awsLifecycleDeps());
