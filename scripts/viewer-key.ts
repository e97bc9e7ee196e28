/**
 * Prints a viewer's key: `npm run viewer-key -- STREAM [--secret-id ID | --secret-env NAME | --viewer-secret-file PATH]`.
 * The master is the stack's ViewerMasterSecretArn (`--secret-id`), VIEWER_MASTER_SECRET or a file
 * (as local mode takes it); see scripts/stream-key.ts. A viewer key plays its stream only, and is no camera key.
 */
import { viewerKey } from "../lambdas/core/credentials";
import { VIEWER_MASTER_SECRET } from "./command-line";
import { parseStreamKeyArgs, runStreamKeyCommand, type StreamKeyKind } from "./stream-key";

/** Viewer keys: what a player presents to `GET /play` and, in its play URL, to the node's `on_play`. */
export const VIEWER_KEYS: StreamKeyKind = {
  command: "viewer-key",
  holder: "viewer",
  verb: "plays",
  derive: viewerKey,
  secret: VIEWER_MASTER_SECRET,
  secretOutput: "ViewerMasterSecretArn",
  endpoint: "play",
  example: (url) => `ffplay "$(curl -sf -H 'Accept: text/plain' '${url}')"`,
};

/** Parses the arguments. @throws UsageError with the usage on bad input */
export const parseViewerKeyArgs = (argv: readonly string[]) => parseStreamKeyArgs(VIEWER_KEYS, argv);

if (require.main === module) runStreamKeyCommand(VIEWER_KEYS);
