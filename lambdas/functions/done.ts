/** Lambda entry point: `createDoneHandler` over the AWS adapters, built once per cold start. */

import { createDoneHandler } from "../handlers/hooks";
import { awsApiDeps } from "./aws-wiring";

export const handler = createDoneHandler(awsApiDeps());
