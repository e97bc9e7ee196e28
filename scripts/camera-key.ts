/**
 * Prints a camera's key: `npm run camera-key -- STREAM [--secret-id ID | --secret-env NAME]`.
 *
 * A camera's key is derived from the camera master secret (lambdas/core/credentials.ts), so there
 * is nothing to store per camera. The master comes from AWS Secrets Manager (`--secret-id`, the
 * stack's CameraMasterSecretArn output; needs AWS credentials) or from an environment variable
 * (`--secret-env`, default CAMERA_MASTER_SECRET; local mode prints its own).
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { cameraKey } from "../lambdas/core/credentials";
import { streamNameProblem } from "../lambdas/core/names";

const USAGE =
  "usage: npm run camera-key -- STREAM [--secret-id SECRET_ARN_OR_NAME | --secret-env VAR] [--resolve-url URL]";

/** The parsed command line. */
export interface CameraKeyArgs {
  readonly stream: string;
  readonly secretId?: string;
  readonly secretEnv: string;
  readonly resolveUrl?: string;
}

/** Parses the arguments. @throws Error with the usage on bad input */
export function parseArgs(argv: readonly string[]): CameraKeyArgs {
  const positional: string[] = [];
  const options: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg.startsWith("--")) {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      options[arg.slice(2)] = value;
    } else positional.push(arg);
  }
  const unknown = Object.keys(options).filter((k) => !["secret-id", "secret-env", "resolve-url"].includes(k));
  if (unknown.length > 0) throw new Error(`unknown option --${unknown[0]}\n${USAGE}`);
  if (positional.length !== 1) throw new Error(USAGE);
  const stream = positional[0] as string;
  const problem = streamNameProblem(stream);
  if (problem) throw new Error(`${problem}\n${USAGE}`);
  return {
    stream,
    secretId: options["secret-id"],
    secretEnv: options["secret-env"] ?? "CAMERA_MASTER_SECRET",
    resolveUrl: options["resolve-url"],
  };
}

async function masterSecret(args: CameraKeyArgs): Promise<string> {
  if (args.secretId) {
    const out = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: args.secretId }));
    if (!out.SecretString) throw new Error(`secret ${args.secretId} has no string value`);
    return out.SecretString;
  }
  const value = process.env[args.secretEnv];
  if (!value) throw new Error(`set ${args.secretEnv} to the camera master secret, or pass --secret-id\n${USAGE}`);
  return value;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const key = cameraKey(await masterSecret(args), args.stream);
  console.log(key);
  if (args.resolveUrl) {
    const url = `${args.resolveUrl.replace(/\/$/, "")}?stream=${args.stream}&key=${key}`;
    console.error(`resolve: curl -sf -H 'Accept: text/plain' '${url}'`);
  }
}

if (require.main === module) {
  main().catch((error: Error) => {
    console.error(`camera-key: ${error.message}`);
    process.exit(2);
  });
}
