/** Lambda entry point: `createNodesHandler` over the AWS adapters, built once per cold start. */

import { createNodesHandler } from "../handlers/views";
import { awsApiDeps } from "./aws-wiring";

export const handler = createNodesHandler(awsApiDeps());
