/**
 * Prints a camera's key: `npm run camera-key -- STREAM [--secret-id ID | --secret-env NAME]`.
 * The master is the stack's CameraMasterSecretArn (`--secret-id`) or CAMERA_MASTER_SECRET; see
 * scripts/stream-key.ts.
 */
import { cameraKey } from "../lambdas/core/credentials";
import { parseStreamKeyArgs, runStreamKeyCommand, type StreamKeyKind } from "./stream-key";

/** Camera keys: what a camera presents to resolve and to publish its stream. */
export const CAMERA_KEYS: StreamKeyKind = {
  command: "camera-key",
  holder: "camera",
  verb: "publishes",
  derive: cameraKey,
  secretEnv: "CAMERA_MASTER_SECRET",
  secretOutput: "CameraMasterSecretArn",
  endpoint: "resolve",
  example: (url) => `curl -sf -H 'Accept: text/plain' '${url}'`,
};

/** Parses the arguments. @throws UsageError with the usage on bad input */
export const parseCameraKeyArgs = (argv: readonly string[]) => parseStreamKeyArgs(CAMERA_KEYS, argv);

if (require.main === module) runStreamKeyCommand(CAMERA_KEYS);
