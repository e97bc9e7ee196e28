/**
 * The correlation id that follows one camera through the logs: the API request id of its
 * `/resolve`, handed back in the RTMP URL as `cid=`, which nginx-rtmp copies into every callback of
 * that publish (`on_publish`, `on_done`, `on_publish_done`). Each handler puts it on all its log
 * lines beside its own request id, which is also the access log's `requestId`.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { ApiError } from "./http";

/** The RTMP URL's query argument that carries the correlation id (beside `key`). */
export const CORRELATION_ARG = "cid";

/**
 * A correlation id's shape: API Gateway's request ids (base64, `+` and `/` included, `=`-padded), local mode's UUIDs and
 * the ids minted for cameras that never resolved (`NODE/CLIENTID`). Plain enough to paste into a
 * Logs Insights query.
 */
const CORRELATION_ID = /^[A-Za-z0-9+=_.:/-]{1,128}$/;

/**
 * A correlation id a node's callback carries, checked for shape: it comes from the camera's URL,
 * so a camera could put anything there.
 * @throws ApiError 400 when it is present but malformed
 */
export function correlationParam(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!CORRELATION_ID.test(value)) {
    throw new ApiError(400, "invalid_correlation_id", `${CORRELATION_ARG} is 1-128 of [A-Za-z0-9+=_.:/-]`);
  }
  return value;
}

/**
 * The correlation id of a camera that published without resolving: made of what both of its
 * callbacks carry (the node and nginx's connection number), so its publish and its done still tie
 * together. The request id of the publish could not: nginx never learns it.
 */
export function mintedCorrelationId(nodeId: string, clientId: string): string {
  return `${nodeId}/${clientId}`;
}

/** Puts the camera's correlation id on every line this request logs from now on (until the next request). */
export function followCamera(logger: Logger, correlationId: string): void {
  logger.appendKeys({ correlationId });
}
