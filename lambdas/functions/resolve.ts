/** Lambda entry point: `createResolveHandler` over the AWS adapters, built once per cold start. */

import { createResolveHandler } from "../handlers/resolve";
import { awsApiDeps } from "./aws-wiring";

export const handler = createResolveHandler(awsApiDeps());
