/**
 * Prints a camera's key: `npm run camera-key -- STREAM [--secret-id ID | --secret-env NAME | --camera-secret-file PATH]`.
 * The master is the stack's CameraMasterSecretArn (`--secret-id`), CAMERA_MASTER_SECRET or a file
 * (as local mode takes it); see scripts/stream-key.ts.
 */
import { cameraKey } from "../lambdas/core/credentials";
import { CAMERA_MASTER_SECRET } from "./command-line";
import { parseStreamKeyArgs, runStreamKeyCommand, type StreamKeyKind } from "./stream-key";

/** Camera keys: what a camera presents to resolve and to publish its stream. */
export const CAMERA_KEYS: StreamKeyKind = {
  command: "camera-key",
  holder: "camera",
  verb: "publishes",
  derive: cameraKey,
  secret: CAMERA_MASTER_SECRET,
  secretOutput: "CameraMasterSecretArn",
  endpoint: "resolve",
  example: (url) => `curl -sf -H 'Accept: text/plain' '${url}'`,
};

/** Parses the arguments. @throws UsageError with the usage on bad input */
export const parseCameraKeyArgs = (argv: readonly string[]) => parseStreamKeyArgs(CAMERA_KEYS, argv);

if (require.main === module) runStreamKeyCommand(CAMERA_KEYS);
