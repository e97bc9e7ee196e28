/**
 * The one Lambda default of the fleet: a NodejsFunction bundled by esbuild (minified, with source
 * maps, the AWS SDK bundled in so its version is the one package-lock.json pins), Node 22 on ARM64,
 * its own log group with a retention, and its own role that may write to that log group and
 * nothing else until the fleet grants it what it calls.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { type Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, Code, Runtime } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat, SourceMapMode } from "aws-cdk-lib/aws-lambda-nodejs";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { FunctionName } from "../lambdas/contract";

const PROJECT_ROOT = path.join(__dirname, "..");

/**
 * Where the packed library keeps each Lambda, bundled once at pack time (scripts/build-construct.ts):
 * `<bundle name>/index.js` next to the compiled lib/ (dist/lambda-bundles beside dist/lib).
 */
const PREBUILT_BUNDLES_DIR = path.join(PROJECT_ROOT, "lambda-bundles");

/**
 * A Lambda's code as the packed library ships it, or undefined to bundle it from source. Installed
 * from npm, the construct has no TypeScript sources, lock file or esbuild to bundle with, so it uses
 * the bundle built at pack time; in the repository this file runs from source, the directory does
 * not exist, and every synth bundles the code as it is now.
 */
function prebuiltCode(bundleName: string): Code | undefined {
  const dir = path.join(PREBUILT_BUNDLES_DIR, bundleName);
  return existsSync(path.join(dir, "index.js")) ? Code.fromAsset(dir) : undefined;
}

/** Props of a `FleetFunction`. */
export interface FleetFunctionProps {
  /**
   * The entry point, which exports `handler`: a fleet Lambda's `lambdas/functions/<entry>.ts`, or a
   * deploy-time helper's own file (its name and path).
   */
  readonly entry: FunctionName | { readonly name: string; readonly file: string };
  /** What the function does, shown in the console. */
  readonly description: string;
  /** The environment (variable names from lambdas/contract.ts `ENV`). */
  readonly environment: Readonly<Record<string, string>>;
  /** How long one invocation may run. */
  readonly timeout: Duration;
  /** How long its logs are kept. */
  readonly logRetention: RetentionDays;
  /**
   * Concurrent executions reserved for (and capping) the function.
   * @default none: it shares the account's unreserved concurrency
   */
  readonly reservedConcurrency?: number;
  /**
   * Memory (MB); CPU grows with it, which shortens cold starts.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Files of the repository (paths from its root) copied beside the bundled code, where the
   * function reads them (`__dirname`); the packed library ships them in the prebuilt bundle.
   * @default none
   */
  readonly files?: readonly string[];
}

/** One Lambda of the fleet, with its role and log group. */
export class FleetFunction extends Construct {
  /** Its entry point's name: the name of its bundle in the packed library. */
  public readonly bundleName: string;
  /** Node 22 on ARM64, bundled by esbuild with the AWS SDK inside. */
  public readonly function: NodejsFunction;
  /** Its role: log writing only, plus what the fleet grants. */
  public readonly role: Role;
  /** Its own log group, with the fleet's retention (the runtime's default group is never used). */
  public readonly logGroup: LogGroup;
  /** The repository's files copied beside its code (paths from the repository's root). */
  public readonly files: readonly string[];

  constructor(scope: Construct, id: string, props: FleetFunctionProps) {
    super(scope, id);
    const { entry } = props;
    const name = typeof entry === "string" ? entry : entry.name;
    this.bundleName = name;
    this.files = props.files ?? [];
    const files = this.files;
    this.logGroup = new LogGroup(this, "Logs", {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An own role instead of the default one, which would attach AWSLambdaBasicExecutionRole
    // (write to any log group in the account).
    this.role = new Role(this, "Role", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `${props.description} (Lambda ${name})`,
    });
    this.logGroup.grantWrite(this.role);
    this.function = new NodejsFunction(this, "Function", {
      // Given, `code` wins over the entry and the bundling below, which NodejsFunction then ignores.
      code: prebuiltCode(name),
      entry: typeof entry === "string" ? path.join(PROJECT_ROOT, "lambdas", "functions", `${entry}.ts`) : entry.file,
      // The file and export, as NodejsFunction names them when it bundles: it needs both with `code`.
      handler: "index.handler",
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, "package-lock.json"),
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout,
      reservedConcurrentExecutions: props.reservedConcurrency,
      role: this.role,
      logGroup: this.logGroup,
      // The bundles carry source maps; Node applies them to stack traces only when asked.
      environment: { ...props.environment, NODE_OPTIONS: "--enable-source-maps" },
      bundling: {
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        target: "node22",
        format: OutputFormat.CJS,
        // ESM builds first: smaller bundles of the AWS SDK and Powertools.
        mainFields: ["module", "main"],
        // Bundle everything, the AWS SDK included: the runtime's SDK is not the version we test.
        externalModules: [],
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir, outputDir) => files.map((file) => `cp "${inputDir}/${file}" "${outputDir}/"`),
        },
      },
    });
    Validations.of(this.function).acknowledge({
      id: "AwsSolutions-L1",
      reason:
        "Node 22 is the runtime the handlers are built (esbuild target node22) and tested for, and an LTS " +
        "supported by Lambda; moving to a newer runtime is a deliberate upgrade of the whole toolchain.",
    });
  }
}
