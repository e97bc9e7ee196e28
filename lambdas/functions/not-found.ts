/** Lambda entry point: `createNotFoundHandler` (the API's `$default` route). */

import { createNotFoundHandler } from "../handlers/not-found";
import { awsApiDeps } from "./aws-wiring";

export const handler = createNotFoundHandler(awsApiDeps());
