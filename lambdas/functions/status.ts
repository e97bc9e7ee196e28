/** Lambda entry point: `createStatusHandler` over the AWS adapters, built once per cold start. */

import { createStatusHandler } from "../handlers/status";
import { awsApiDeps } from "./aws-wiring";

export const handler = createStatusHandler(awsApiDeps());
