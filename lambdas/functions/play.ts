/** Lambda entry point: `createPlayHandler` over the AWS adapters, built once per cold start. */

import { createPlayHandler } from "../handlers/play";
import { awsApiDeps } from "./aws-wiring";

export const handler = createPlayHandler(awsApiDeps());
