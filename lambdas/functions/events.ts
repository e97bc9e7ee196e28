/** Lambda entry point: `createEventsHandler` over the AWS adapters, built once per cold start. */

import { createEventsHandler } from "../handlers/views";
import { awsApiDeps } from "./aws-wiring";

export const handler = createEventsHandler(awsApiDeps());
