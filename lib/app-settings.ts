/**
 * The app's settings, read from CDK context (`cdk.json` "context", or `-c key=value` on the command
 * line) and validated before anything is synthesized: a bad value fails synth with a message naming
 * its key. The fleet's policy knobs (`fleet`) are validated by the Lambdas' own `parseFleetConfig`,
 * so synth and the Lambdas' cold start accept exactly the same values.
 */
import { RetentionDays } from "aws-cdk-lib/aws-logs";
import { isIpv4Cidr } from "../lambdas/core/cidrs";
import { ConfigError, type FleetConfig, parseFleetConfig } from "../lambdas/core/config";
import { isEmailAddress, isFleetName, isImageId } from "./fleet-validation";

/** An existing VPC to run the media nodes in, given without lookups. */
export interface ExistingVpcSettings {
  readonly vpcId: string;
  /** Public subnets (with a route to an internet gateway), one per availability zone. */
  readonly publicSubnetIds: readonly string[];
  /** The zones of `publicSubnetIds`, in the same order. */
  readonly availabilityZones: readonly string[];
}

/** What the table does when it leaves the stack. */
export type TableRemoval = "retain" | "destroy";

/** A CPU architecture of the media nodes, as the Ubuntu AMI parameter names it. */
export type NodeArchitecture = "x86_64" | "arm64";

/** The validated settings of one deployment; an absent setting takes `RtmpFleet`'s default. */
export interface AppSettings {
  /** The stack's name: also the fleet's name in metrics, logs and resource names. */
  readonly stackName: string;
  readonly fleet: FleetConfig;
  readonly instanceType?: string;
  /** Absent: inferred from the instance type. */
  readonly instanceArchitecture?: NodeArchitecture;
  /** Absent: Ubuntu 24.04's current AMI. */
  readonly nodeImageId?: string;
  readonly cameraCidrs?: readonly string[];
  /** Absent: a new VPC. */
  readonly existingVpc?: ExistingVpcSettings;
  readonly logRetentionDays?: RetentionDays;
  readonly tableRemovalPolicy?: TableRemoval;
  readonly apiRateLimit?: number;
  readonly apiBurstLimit?: number;
  readonly nodeApiRateLimit?: number;
  readonly nodeApiBurstLimit?: number;
  readonly reservedConcurrency?: number;
  readonly alarmEmail?: string;
  readonly requireCameraKeys?: boolean;
  readonly viewerAccess?: boolean;
  readonly fixedIngest?: boolean;
  readonly ingestCertificateArn?: string;
  readonly ingestDomainName?: string;
}

/** The stack's name when the context gives none. */
export const DEFAULT_STACK_NAME = "RtmpFleet";

/** The context keys this app reads (besides `fleet.<knob>`, which overrides one knob of `fleet`). */
export const SETTING_KEYS = [
  "stackName",
  "fleet",
  "instanceType",
  "instanceArchitecture",
  "nodeImageId",
  "cameraCidrs",
  "vpcId",
  "publicSubnetIds",
  "availabilityZones",
  "logRetentionDays",
  "tableRemovalPolicy",
  "apiRateLimit",
  "apiBurstLimit",
  "nodeApiRateLimit",
  "nodeApiBurstLimit",
  "reservedConcurrency",
  "alarmEmail",
  "requireCameraKeys",
  "viewerAccess",
  "fixedIngest",
  "ingestCertificateArn",
  "ingestDomainName",
] as const;

/** What the settings are read from, named in errors. */
export const SETTINGS_SOURCE = "cdk.json context";

const RETENTION_DAYS = new Set<number>(Object.values(RetentionDays).filter((v): v is number => typeof v === "number"));

/** Collects problems, each naming its key, while values are read. */
class Reader {
  readonly problems: string[] = [];

  constructor(private readonly context: Readonly<Record<string, unknown>>) {}

  raw(key: string): unknown {
    const value = this.context[key];
    return value === null || value === "" ? undefined : value;
  }

  problem(key: string, message: string, value: unknown): undefined {
    this.problems.push(`'${key}' ${message}, got ${JSON.stringify(value)}`);
    return undefined;
  }

  string(key: string, valid: (s: string) => boolean, description: string): string | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== "string" || !valid(value)) return this.problem(key, `must be ${description}`, value);
    return value;
  }

  /** A list, as JSON (cdk.json) or comma-separated (`-c key=a,b`). */
  list(key: string, valid: (s: string) => boolean, description: string, maxItems = 50): string[] | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    const items = typeof value === "string" ? splitList(value) : value;
    if (!Array.isArray(items) || items.length === 0 || items.length > maxItems) {
      return this.problem(key, `must be a list of 1 to ${maxItems} ${description}`, value);
    }
    const bad = items.filter((item) => typeof item !== "string" || !valid(item));
    if (bad.length > 0)
      return this.problem(key, `must be a list of ${description}; bad items ${JSON.stringify(bad)}`, value);
    return items as string[];
  }

  number(key: string, check: (n: number) => boolean, description: string): number | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    const num = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    if (typeof num !== "number" || !Number.isFinite(num) || !check(num)) {
      return this.problem(key, `must be ${description}`, value);
    }
    return num;
  }

  boolean(key: string): boolean | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (value === true || value === "true") return true;
    if (value === false || value === "false") return false;
    return this.problem(key, "must be true or false", value);
  }
}

/** `"a, b"` or `'["a","b"]'` (the command line gives strings) as a list. */
function splitList(value: string): unknown {
  const text = value.trim();
  if (text.startsWith("[")) {
    try {
      return JSON.parse(text);
    } catch {
      return value;
    }
  }
  return text
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

/** A predicate for `Reader.string` and `Reader.list`. */
const matches = (pattern: RegExp) => (value: string) => pattern.test(value);
const INSTANCE_TYPE = matches(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/);
const VPC_ID = matches(/^vpc-[0-9a-f]{8}(?:[0-9a-f]{9})?$/);
const SUBNET_ID = matches(/^subnet-[0-9a-f]{8}(?:[0-9a-f]{9})?$/);
const AVAILABILITY_ZONE = matches(/^[a-z]{2}(?:-[a-z0-9]+)+[a-z]$/);
const DOMAIN_NAME = matches(/^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/);
const CERTIFICATE_ARN = matches(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/);

/** The fleet knobs: the `fleet` object (or its JSON, from `-c`), then any `fleet.<knob>` keys over it. */
function fleetValues(reader: Reader, context: Readonly<Record<string, unknown>>): Record<string, unknown> | undefined {
  let base = reader.raw("fleet");
  if (typeof base === "string") {
    try {
      base = JSON.parse(base);
    } catch {
      return reader.problem("fleet", "must be an object of fleet knobs (or its JSON)", base);
    }
  }
  if (base !== undefined && (typeof base !== "object" || Array.isArray(base) || base === null)) {
    return reader.problem("fleet", "must be an object of fleet knobs (or its JSON)", base);
  }
  const values: Record<string, unknown> = { ...(base as Record<string, unknown> | undefined) };
  for (const [key, value] of Object.entries(context)) {
    if (key.startsWith("fleet.")) values[key.slice("fleet.".length)] = value;
  }
  return values;
}

/**
 * Reads and validates the settings.
 * @param context all of the app's context (`app.node.getAllContext()`); absent keys take their default
 * @throws ConfigError naming every bad key
 */
export function readAppSettings(context: Readonly<Record<string, unknown>>): AppSettings {
  const read = new Reader(context);

  let fleet: FleetConfig | undefined;
  const fleetRaw = fleetValues(read, context);
  if (fleetRaw) {
    try {
      fleet = parseFleetConfig(fleetRaw, `${SETTINGS_SOURCE} 'fleet'`);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      read.problems.push(...error.problems.map((problem) => `'fleet': ${problem}`));
    }
  }

  const stackName = read.string("stackName", isFleetName, "a stack name (a letter, then letters, digits or '-')");
  const instanceType = read.string("instanceType", INSTANCE_TYPE, "an EC2 instance type such as c6i.large");
  const architecture = read.raw("instanceArchitecture");
  if (architecture !== undefined && architecture !== "x86_64" && architecture !== "arm64") {
    read.problem(
      "instanceArchitecture",
      "must be x86_64 or arm64 (or absent: inferred from instanceType)",
      architecture,
    );
  }
  const nodeImageId = read.string("nodeImageId", isImageId, "an AMI id such as ami-0123456789abcdef0");
  const cameraCidrs = read.list("cameraCidrs", isIpv4Cidr, "IPv4 CIDR blocks such as 203.0.113.0/24 (host bits zero)");

  const vpcId = read.string("vpcId", VPC_ID, "a VPC id such as vpc-0123456789abcdef0");
  const subnetIds = read.list("publicSubnetIds", SUBNET_ID, "subnet ids such as subnet-0123456789abcdef0");
  const zones = read.list("availabilityZones", AVAILABILITY_ZONE, "availability zone names such as eu-west-1a");
  const vpcKeys = ["vpcId", "publicSubnetIds", "availabilityZones"];
  const vpcKeysGiven = vpcKeys.filter((key) => read.raw(key) !== undefined).length;
  let existingVpc: ExistingVpcSettings | undefined;
  if (vpcKeysGiven > 0 && vpcKeysGiven < vpcKeys.length) {
    read.problems.push("'vpcId', 'publicSubnetIds' and 'availabilityZones' go together: give all three or none");
  } else if (vpcId && subnetIds && zones) {
    if (subnetIds.length !== zones.length) {
      read.problems.push(
        `'publicSubnetIds' (${subnetIds.length}) and 'availabilityZones' (${zones.length}) must list one subnet per zone`,
      );
    } else {
      existingVpc = { vpcId, publicSubnetIds: subnetIds, availabilityZones: zones };
    }
  }

  const logRetentionDays = read.number(
    "logRetentionDays",
    (n) => RETENTION_DAYS.has(n),
    `one of CloudWatch Logs' retention periods in days (${[...RETENTION_DAYS].sort((a, b) => a - b).join(", ")})`,
  );
  const removal = read.raw("tableRemovalPolicy");
  if (removal !== undefined && removal !== "retain" && removal !== "destroy") {
    read.problem("tableRemovalPolicy", "must be retain or destroy", removal);
  }
  const rate = (key: string) =>
    read.number(key, (n) => n > 0 && n <= 10_000, "requests per second, above 0, at most 10000");
  const burst = (key: string) =>
    read.number(key, (n) => Number.isInteger(n) && n >= 1 && n <= 5000, "a whole number of requests, 1 to 5000");
  const apiRateLimit = rate("apiRateLimit");
  const apiBurstLimit = burst("apiBurstLimit");
  const nodeApiRateLimit = rate("nodeApiRateLimit");
  const nodeApiBurstLimit = burst("nodeApiBurstLimit");
  const reservedConcurrency = read.number(
    "reservedConcurrency",
    (n) => Number.isInteger(n) && n >= 0 && n <= 1000,
    "a whole number of concurrent executions, 0 (off) to 1000",
  );
  const alarmEmail = read.string("alarmEmail", isEmailAddress, "an email address");
  const requireCameraKeys = read.boolean("requireCameraKeys");
  const viewerAccess = read.boolean("viewerAccess");
  const fixedIngest = read.boolean("fixedIngest");
  const ingestCertificateArn = read.string(
    "ingestCertificateArn",
    CERTIFICATE_ARN,
    "an ACM certificate ARN such as arn:aws:acm:eu-west-1:123456789012:certificate/<uuid>",
  );
  const ingestDomainName = read.string(
    "ingestDomainName",
    DOMAIN_NAME,
    "a lower-case DNS name such as ingest.example.com",
  );
  for (const [key, value] of [
    ["ingestCertificateArn", ingestCertificateArn],
    ["ingestDomainName", ingestDomainName],
  ] as const) {
    if (value && fixedIngest !== true)
      read.problems.push(`'${key}' needs 'fixedIngest' true: it is the fixed ingest address's`);
  }

  if (read.problems.length > 0 || !fleet) throw new ConfigError(SETTINGS_SOURCE, read.problems);
  return {
    stackName: stackName ?? DEFAULT_STACK_NAME,
    fleet,
    instanceType,
    instanceArchitecture: architecture as NodeArchitecture | undefined,
    nodeImageId,
    cameraCidrs,
    existingVpc,
    logRetentionDays,
    tableRemovalPolicy: removal as TableRemoval | undefined,
    apiRateLimit,
    apiBurstLimit,
    nodeApiRateLimit,
    nodeApiBurstLimit,
    reservedConcurrency,
    alarmEmail,
    requireCameraKeys,
    viewerAccess,
    fixedIngest,
    ingestCertificateArn,
    ingestDomainName,
  };
}
