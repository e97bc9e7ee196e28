/**
 * Who may call what, checked in one place: nodes by their id and secret (the shim's headers),
 * cameras and viewers by their keys, operators by a bearer token. Secrets are compared in constant time.
 */
import { NODE_HEADERS } from "../contract";
import { addressInCidrs } from "../core/cidrs";
import { matchesMaster, verifyCameraKey, verifyViewerKey } from "../core/credentials";
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

/** A key's shape: what `cameraKey` and `viewerKey` derive (22 characters), with room to spare. */
const KEY = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A camera or viewer key parameter, checked for shape (it goes back to the caller inside an RTMP URL).
 * @throws ApiError 400 when it is present but malformed
 */
export function keyParam(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!KEY.test(value)) throw new ApiError(400, "invalid_key", "a key is 1-64 of [A-Za-z0-9_-]");
  return value;
}

/** Checks a presented key of `stream` against its master. @throws ApiError 403 when it is missing or wrong */
function checkKey(
  kind: "camera" | "viewer",
  verify: (master: string, stream: string, key: string) => boolean,
  master: string,
  stream: string,
  key: string | undefined,
): void {
  if (key === undefined || key === "") {
    throw new ApiError(403, `${kind}_key_required`, `this stream needs its ${kind} key: add key=...`);
  }
  if (!verify(master, stream, key)) throw new ApiError(403, `invalid_${kind}_key`, "the key does not match the stream");
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
  checkKey("camera", verifyCameraKey, master, stream, key);
}

/**
 * Checks a viewer's key for `stream`. Viewer access is opt-in: without a viewer master, every
 * play is refused.
 * @throws ApiError 403 when viewer access is off, or the key is missing or wrong
 */
export async function checkViewerKey(deps: ApiDeps, stream: string, key: string | undefined): Promise<void> {
  const master = await deps.secrets.viewerMaster();
  if (master === undefined) {
    throw new ApiError(403, "viewer_access_off", "viewer access is off on this fleet: no stream can be played");
  }
  checkKey("viewer", verifyViewerKey, master, stream, key);
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
