/**
 * Credentials without a credential store: each camera's key and each node's secret is an HMAC of
 * its name under a master secret. The control plane holds the masters; a camera knows only its
 * own key, a node only its own secret, so neither can speak for another stream or node.
 * Comparisons run in constant time.
 *
 * A master secret's value is either the secret itself, or, while it is being rotated, the JSON
 * `{"current": NEW, "previous": OLD}`: credentials are derived from the current one and accepted
 * under both, so cameras and nodes can move to the new one without a moment of refusal.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** Length of a derived credential: 128 bits in base64url. */
const CREDENTIAL_LENGTH = 22;

/** The secrets a master value holds: the current one first, then the previous one while rotating. */
export function masterSecrets(value: string): string[] {
  if (value.trimStart().startsWith("{")) {
    try {
      const parsed = JSON.parse(value) as { current?: unknown; previous?: unknown };
      if (typeof parsed.current === "string" && parsed.current !== "") {
        return typeof parsed.previous === "string" && parsed.previous !== ""
          ? [parsed.current, parsed.previous]
          : [parsed.current];
      }
    } catch {
      // not JSON after all: the value is the secret
    }
  }
  return [value];
}

type Purpose = "camera" | "node";

/** The credential of `name` under one secret. */
function hmacOf(secret: string, purpose: Purpose, name: string): string {
  return createHmac("sha256", secret).update(`${purpose}:${name}`).digest("base64url").slice(0, CREDENTIAL_LENGTH);
}

/** The credential of `name` under the master value's current secret. */
function derive(master: string, purpose: Purpose, name: string): string {
  return hmacOf(masterSecrets(master)[0] as string, purpose, name);
}

/** Constant-time equality of two strings of any length (both are hashed to the same length first). */
export function safeEqual(a: string, b: string): boolean {
  const digest = (s: string) => createHmac("sha256", "compare").update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** True when `presented` equals one of the master value's secrets (current or previous), in constant time. */
export function matchesMaster(master: string, presented: string): boolean {
  // Every secret is compared, so the time does not tell which one matched.
  return masterSecrets(master).reduce((found, secret) => safeEqual(secret, presented) || found, false);
}

/** The key a camera presents to publish `stream`, derived from the current camera master secret. */
export function cameraKey(master: string, stream: string): string {
  return derive(master, "camera", stream);
}

/** The secret a media node presents on its callbacks, derived from the current node master secret. */
export function nodeSecret(master: string, nodeId: string): string {
  return derive(master, "node", nodeId);
}

function verify(master: string, purpose: Purpose, name: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  // Every secret is compared, so the time does not tell which one matched.
  return masterSecrets(master).reduce(
    (found, secret) => safeEqual(hmacOf(secret, purpose, name), presented) || found,
    false,
  );
}

/** True when `presented` is the camera key of `stream` under the current or the previous master. */
export function verifyCameraKey(master: string, stream: string, presented: string | undefined): boolean {
  return verify(master, "camera", stream, presented);
}

/** True when `presented` is the secret of node `nodeId` under the current or the previous master. */
export function verifyNodeSecret(master: string, nodeId: string, presented: string | undefined): boolean {
  return verify(master, "node", nodeId, presented);
}
