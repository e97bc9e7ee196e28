/**
 * Who may call what, checked in one place: nodes by their id and secret (the shim's headers),
 * cameras by their key, operators by a bearer token. Secrets are compared in constant time.
 */
import { NODE_HEADERS } from "../contract";
import { addressInCidrs } from "../core/cidrs";
import { matchesMaster, verifyCameraKey } from "../core/credentials";
import type { NodeCredential } from "../core/fleet";
import { NODE_ID } from "../core/names";
import type { ApiDeps } from "./api";
import { ApiError, type HttpEvent, header, nodeUnauthorized } from "./http";

const { id: NODE_ID_HEADER, secret: NODE_SECRET_HEADER } = NODE_HEADERS;

/** A node secret's shape: what `newNodeSecret` issues (43 characters), with room to spare. */
const NODE_SECRET = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * The credential of the node that sent this request, from the headers its shim adds; never from
 * the body, which carries the camera's query arguments. The use case checks it against the node's
 * record (`NodeRefusedError` becomes the same 401).
 * @throws ApiError 401 when the id or its secret is missing or malformed
 */
export function nodeCredential(event: HttpEvent): NodeCredential {
  const nodeId = header(event, NODE_ID_HEADER);
  const secret = header(event, NODE_SECRET_HEADER);
  if (!nodeId || !secret) {
    throw new ApiError(
      401,
      "unauthorized",
      `node requests need the ${NODE_ID_HEADER} and ${NODE_SECRET_HEADER} headers`,
    );
  }
  if (!NODE_ID.test(nodeId) || !NODE_SECRET.test(secret)) throw nodeUnauthorized();
  return { nodeId, secret };
}

/** A camera key's shape: what `cameraKey` derives (22 characters), with room to spare. */
const CAMERA_KEY = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A camera key parameter, checked for shape (it goes back to the camera inside the RTMP URL).
 * @throws ApiError 400 when it is present but malformed
 */
export function keyParam(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!CAMERA_KEY.test(value)) throw new ApiError(400, "invalid_key", "a camera key is 1-64 of [A-Za-z0-9_-]");
  return value;
}

/**
 * Checks that a camera may publish `stream`: by its key when camera keys are on, else by its
 * address (the resolve's caller, or the publisher nginx reports), which must be in `cameraCidrs`.
 * @throws ApiError 403 when the key is missing or wrong, or, keys off, the address is outside
 */
export async function checkCamera(
  deps: ApiDeps,
  stream: string,
  key: string | undefined,
  address: string,
): Promise<void> {
  const master = await deps.secrets.cameraMaster();
  if (master === undefined) {
    if (!addressInCidrs(address, deps.cameraCidrs)) {
      throw new ApiError(403, "address_not_allowed", "cameras may not publish from this address");
    }
    return;
  }
  if (key === undefined || key === "") {
    throw new ApiError(403, "camera_key_required", "this stream needs its key: add key=...");
  }
  if (!verifyCameraKey(master, stream, key)) {
    throw new ApiError(403, "invalid_camera_key", "the key does not match the stream");
  }
}

/**
 * Checks the operator's bearer token, when one is set.
 * @throws ApiError 401 when it is missing or wrong
 */
export async function authorizeOperator(event: HttpEvent, deps: ApiDeps): Promise<void> {
  const token = await deps.secrets.operatorToken();
  if (token === undefined) return;
  const presented = /^Bearer (.+)$/.exec(header(event, "authorization") ?? "")?.[1];
  if (presented === undefined || !matchesMaster(token, presented)) {
    throw new ApiError(401, "unauthorized", "the operator views need 'Authorization: Bearer <token>'", {
      "www-authenticate": "Bearer",
    });
  }
}
