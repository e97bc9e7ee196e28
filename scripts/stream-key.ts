/**
 * What `npm run camera-key` and `npm run viewer-key` share: a key derived from a master secret
 * (lambdas/core/credentials.ts) for one stream name, so there is nothing to store per camera or
 * per viewer. The master comes from AWS Secrets Manager (`--secret-id`, the stack's output; needs
 * AWS credentials), from an environment variable (`--secret-env`) or from a file, never from the
 * command line.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { streamNameProblem } from "../lambdas/core/names";
import {
  type CommandLine,
  type CommandSpec,
  type HELP,
  httpUrl,
  parseCommandLine,
  readCommandLine,
  readSecret,
  type SecretInput,
  secretFileOption,
  UsageError,
} from "./command-line";

/** One kind of stream key: whose it is and where its master lives. */
export interface StreamKeyKind {
  /** The npm script, e.g. `camera-key`. */
  readonly command: string;
  /** Whose key it is, e.g. `camera` ("prints the key of the camera that ..."). */
  readonly holder: string;
  /** What the holder does with its stream, e.g. `publishes`. */
  readonly verb: string;
  readonly derive: (master: string, stream: string) => string;
  /** Its master: the environment variable read by default, and the file option. */
  readonly secret: SecretInput;
  /** The stack output naming the master's secret. */
  readonly secretOutput: string;
  /** The endpoint the key is presented to, e.g. `resolve`: `--<it>-url URL` prints a command that asks it. */
  readonly endpoint: string;
  /** The command that asks the endpoint, given its URL with the stream and key. */
  readonly example: (url: string) => string;
}

/** The parsed command line. */
export interface StreamKeyArgs {
  readonly stream: string;
  readonly secretId?: string;
  readonly secretEnv: string;
  /** The master, from `secretEnv` or the file; undefined with `secretId` (read when used) or when neither is given. */
  readonly master?: string;
  /** The endpoint's URL, when a command that asks it is to be printed too. */
  readonly url?: string;
}

/** The command line of a kind of key. */
export function streamKeyCommand(kind: StreamKeyKind): CommandSpec {
  return {
    name: kind.command,
    synopsis: `npm run ${kind.command} -- STREAM [--secret-id SECRET_ARN_OR_NAME | --secret-env VAR | --${kind.secret.fileOption} PATH] [--${kind.endpoint}-url URL]`,
    summary: `Prints the key of the ${kind.holder} that ${kind.verb} STREAM, derived from the ${kind.holder} master secret.`,
    positionals: ["STREAM"],
    options: {
      "secret-id": {
        value: "SECRET_ARN_OR_NAME",
        description: `read the master from AWS Secrets Manager (the stack's ${kind.secretOutput} output)`,
      },
      "secret-env": {
        value: "VAR",
        default: kind.secret.env,
        description: "read the master from this environment variable",
      },
      [kind.secret.fileOption]: secretFileOption(kind.secret, "read the master from it"),
      [`${kind.endpoint}-url`]: {
        value: "URL",
        description: `the ${kind.endpoint} endpoint's URL: also print the ${kind.holder}'s ${kind.endpoint} command`,
      },
    },
  };
}

/** Parses the arguments. @throws UsageError with the usage on bad input */
export function parseStreamKeyArgs(kind: StreamKeyKind, argv: readonly string[]): StreamKeyArgs | typeof HELP {
  return parseCommandLine(streamKeyCommand(kind), argv, (line) => readArgs(kind, line));
}

function readArgs(kind: StreamKeyKind, line: CommandLine): StreamKeyArgs {
  const stream = line.positionals[0] as string;
  const problem = streamNameProblem(stream);
  if (problem) throw new UsageError(problem);
  const secretId = line.values["secret-id"];
  const secretEnv = line.values["secret-env"] as string;
  return {
    stream,
    secretId,
    secretEnv,
    master: secretId === undefined ? readSecret(line, { ...kind.secret, env: secretEnv }) : undefined,
    url: httpUrl(line, `${kind.endpoint}-url`),
  };
}

async function masterSecret(kind: StreamKeyKind, args: StreamKeyArgs): Promise<string> {
  if (args.secretId) {
    const out = await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: args.secretId }));
    if (!out.SecretString) throw new Error(`secret ${args.secretId} has no string value`);
    return out.SecretString;
  }
  if (args.master === undefined) {
    throw new Error(
      `set ${args.secretEnv} to the ${kind.holder} master secret, or pass --${kind.secret.fileOption} or --secret-id`,
    );
  }
  return args.master;
}

async function main(kind: StreamKeyKind): Promise<number> {
  const read = readCommandLine(streamKeyCommand(kind), process.argv.slice(2), (line) => readArgs(kind, line));
  if ("exitCode" in read) return read.exitCode;
  const args = read.options;
  const key = kind.derive(await masterSecret(kind, args), args.stream);
  console.log(key);
  if (args.url) console.error(`${kind.endpoint}: ${kind.example(`${args.url}?stream=${args.stream}&key=${key}`)}`);
  return 0;
}

/** Runs the command of a kind of key, setting the exit code. */
export function runStreamKeyCommand(kind: StreamKeyKind): void {
  main(kind).then(
    (code) => {
      process.exitCode = code;
    },
    (error: Error) => {
      console.error(`${kind.command}: ${error.message}`);
      process.exitCode = 1;
    },
  );
}
