/** Lambda entry point: `createPublishHandler` over the AWS adapters, built once per cold start. */

import { createPublishHandler } from "../handlers/hooks";
import { awsApiDeps } from "./aws-wiring";

export const handler = createPublishHandler(awsApiDeps());
