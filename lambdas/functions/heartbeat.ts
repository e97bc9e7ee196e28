/** Lambda entry point: `createHeartbeatHandler` over the AWS adapters, built once per cold start. */

import { createHeartbeatHandler } from "../handlers/heartbeat";
import { awsApiDeps } from "./aws-wiring";

export const handler = createHeartbeatHandler(awsApiDeps());
