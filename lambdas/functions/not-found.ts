/** Lambda entry point: `createNotFoundHandler` (the API's `$default` route). */
import { awsApiDeps } from "../adapters/aws-env";
import { createNotFoundHandler } from "../handlers/not-found";

export const handler = createNotFoundHandler(awsApiDeps());
