/** Lambda entry point: `createViewerHooksHandler` over the AWS adapters, built once per cold start. */

import { createViewerHooksHandler } from "../handlers/viewer-hooks";
import { awsApiDeps } from "./aws-wiring";

export const handler = createViewerHooksHandler(awsApiDeps());
