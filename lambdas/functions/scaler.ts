/** Lambda entry point: `createScalerHandler` over the AWS adapters, built once per cold start. */

import { createScalerHandler } from "../handlers/scaler";
import { awsScalerDeps } from "./aws-wiring";

export const handler = createScalerHandler(awsScalerDeps());
