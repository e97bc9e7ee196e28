/**
 * Prints a camera's key: `npm run camera-key -- STREAM [--secret-id ID | --secret-env NAME | --camera-secret-file PATH]`.
 *
 * A camera's key is derived from the camera master secret (lambdas/core/credentials.ts), so there
 * is nothing to store per camera. The master comes from AWS Secrets Manager (`--secret-id`, the
 * stack's CameraMasterSecretArn output; needs AWS credentials), from an environment variable
 * (`--secret-env`, default CAMERA_MASTER_SECRET) or from a file (`--camera-secret-file`, as local
 * mode takes it), never from the command line.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { cameraKey } from "../lambdas/core/credentials";
import { streamNameProblem } from "../lambdas/core/names";
import {
  CAMERA_MASTER_SECRET,
  type CommandLine,
  type CommandSpec,
  type HELP,
  httpUrl,
  parseCommandLine,
  readCommandLine,
  readSecret,
  secretFileOption,
  UsageError,
} from "./command-line";

export const CAMERA_KEY_COMMAND: CommandSpec = {
  name: "camera-key",
  synopsis:
    "npm run camera-key -- STREAM [--secret-id SECRET_ARN_OR_NAME | --secret-env VAR | --camera-secret-file PATH] [--resolve-url URL]",
  summary: "Prints the key of the camera that publishes STREAM, derived from the camera master secret.",
  positionals: ["STREAM"],
  options: {
    "secret-id": {
      value: "SECRET_ARN_OR_NAME",
      description: "read the master from AWS Secrets Manager (the stack's CameraMasterSecretArn output)",
    },
    "secret-env": {
      value: "VAR",
      default: "CAMERA_MASTER_SECRET",
      description: "read the master from this environment variable",
    },
    [CAMERA_MASTER_SECRET.fileOption]: secretFileOption(CAMERA_MASTER_SECRET, "read the master from it"),
    "resolve-url": { value: "URL", description: "the resolve endpoint's URL: also print the camera's resolve command" },
  },
};

/** The parsed command line. */
export interface CameraKeyArgs {
  readonly stream: string;
  readonly secretId?: string;
  readonly secretEnv: string;
  /** The master, from `secretEnv` or the file; undefined with `secretId` (read when used) or when neither is given. */
  readonly master?: string;
  readonly resolveUrl?: string;
}

function readCameraKeyArgs(line: CommandLine): CameraKeyArgs {
  const stream = line.positionals[0] as string;
  const problem = streamNameProblem(stream);
  if (problem) throw new UsageError(problem);
  const secretId = line.values["secret-id"];
  const secretEnv = line.values["secret-env"] as string;
  return {
    stream,
    secretId,
    secretEnv,
    master: secretId === undefined ? readSecret(line, { ...CAMERA_MASTER_SECRET, env: secretEnv }) : undefined,
    resolveUrl: httpUrl(line, "resolve-url"),
  };
}

/** Parses the arguments. @throws UsageError with the usage on bad input */
export function parseCameraKeyArgs(argv: readonly string[]): CameraKeyArgs | typeof HELP {
  return parseCommandLine(CAMERA_KEY_COMMAND, argv, readCameraKeyArgs);
}

async function masterSecret(args: CameraKeyArgs): Promise<string> {
  if (args.secretId) {
    const out = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: args.secretId }));
    if (!out.SecretString) throw new Error(`secret ${args.secretId} has no string value`);
    return out.SecretString;
  }
  if (args.master === undefined) {
    throw new Error(
      `set ${args.secretEnv} to the camera master secret, or pass --${CAMERA_MASTER_SECRET.fileOption} or --secret-id`,
    );
  }
  return args.master;
}

async function main(): Promise<number> {
  const read = readCommandLine(CAMERA_KEY_COMMAND, process.argv.slice(2), readCameraKeyArgs);
  if ("exitCode" in read) return read.exitCode;
  const args = read.options;
  const key = cameraKey(await masterSecret(args), args.stream);
  console.log(key);
  if (args.resolveUrl) {
    const url = `${args.resolveUrl}?stream=${args.stream}&key=${key}`;
    console.error(`resolve: curl -sf -H 'Accept: text/plain' '${url}'`);
  }
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: Error) => {
      console.error(`camera-key: ${error.message}`);
      process.exitCode = 1;
    },
  );
}
