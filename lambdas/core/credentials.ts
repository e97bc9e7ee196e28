/**
 * Credentials without a credential store: each camera's key and each node's secret is an HMAC of
 * its name under a master secret. The control plane holds the masters; a camera knows only its
 * own key, a node only its own secret, so neither can speak for another stream or node.
 * Comparisons run in constant time.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** Length of a derived credential: 128 bits in base64url. */
const CREDENTIAL_LENGTH = 22;

function derive(master: string, purpose: "camera" | "node", name: string): string {
  return createHmac("sha256", master).update(`${purpose}:${name}`).digest("base64url").slice(0, CREDENTIAL_LENGTH);
}

/** Constant-time equality of two strings of any length (both are hashed to the same length first). */
export function safeEqual(a: string, b: string): boolean {
  const digest = (s: string) => createHmac("sha256", "compare").update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** The key a camera presents to publish `stream`, derived from the camera master secret. */
export function cameraKey(master: string, stream: string): string {
  return derive(master, "camera", stream);
}

/** The secret a media node presents on its callbacks, derived from the node master secret. */
export function nodeSecret(master: string, nodeId: string): string {
  return derive(master, "node", nodeId);
}

/** True when `presented` is the camera key of `stream`. */
export function verifyCameraKey(master: string, stream: string, presented: string | undefined): boolean {
  return presented !== undefined && safeEqual(cameraKey(master, stream), presented);
}

/** True when `presented` is the secret of node `nodeId`. */
export function verifyNodeSecret(master: string, nodeId: string, presented: string | undefined): boolean {
  return presented !== undefined && safeEqual(nodeSecret(master, nodeId), presented);
}
