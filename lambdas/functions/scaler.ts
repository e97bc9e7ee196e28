/** Lambda entry point: `createScalerHandler` over the AWS adapters, built once per cold start. */
import { awsScalerDeps } from "../adapters/aws-env";
import { createScalerHandler } from "../handlers/scaler";

export const handler = createScalerHandler(awsScalerDeps());
