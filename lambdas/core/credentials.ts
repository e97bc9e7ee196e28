/**
 * Credentials.
 * - A camera's key (and a viewer's) is an HMAC of the stream name under a master secret: nothing
 *   is stored per camera, and a key opens its own stream name only. A master's value is the secret
 *   itself or, while it rotates, the JSON `{"current": NEW, "previous": OLD}`: keys derive from the
 *   current one and are accepted under both, so nothing is refused while cameras move over.
 * - A node's secret is random, one per launch: the control plane keeps only its hash, beside the
 *   node's record, and accepts it only while the node is registered and not DEAD, so a secret
 *   captured from a node is worthless once that node is gone.
 * Every comparison runs in constant time.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

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

type Purpose = "camera" | "viewer";

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

/** The key a viewer presents to play `stream`, derived from the current viewer master secret. */
export function viewerKey(master: string, stream: string): string {
  return derive(master, "viewer", stream);
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

/** True when `presented` is the viewer key of `stream` under the current or the previous master. */
export function verifyViewerKey(master: string, stream: string, presented: string | undefined): boolean {
  return verify(master, "viewer", stream, presented);
}

/** A new node secret: 256 random bits, base64url (43 characters). */
export function newNodeSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** What the registry keeps of a node's secret: its SHA-256 (the secret is random, so no salt is needed). */
export function credentialHash(secret: string): string {
  return createHash("sha256").update(secret).digest("base64url");
}

/** True when `presented` hashes to `hash`, in constant time; false when there is no hash. */
export function matchesCredential(hash: string | undefined, presented: string): boolean {
  return hash !== undefined && safeEqual(credentialHash(presented), hash);
}
