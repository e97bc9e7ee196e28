/** Lambda entry point: `createStreamsHandler` over the AWS adapters, built once per cold start. */

import { createStreamsHandler } from "../handlers/views";
import { awsApiDeps } from "./aws-wiring";

export const handler = createStreamsHandler(awsApiDeps());
