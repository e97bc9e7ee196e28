/**
 * IAM checked call by call, offline: a role's policies as the synthesized template writes them, with
 * CloudFormation's intrinsic functions resolved to fake but consistent physical names and ARNs
 * (account 123456789012, us-east-1), and each AWS API request judged against them by
 * @cloud-copilot/iam-simulate, an implementation of IAM's policy evaluation logic that also checks
 * each action and resource ARN against AWS's Service Authorization Reference.
 */
import { runSimulation, runUnsafeSimulation } from "@cloud-copilot/iam-simulate";

export const FAKE_ACCOUNT = "123456789012";
export const FAKE_REGION = "us-east-1";
const PARTITION = "aws";

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON
type Json = any;

/** One AWS API request as IAM authorizes it. */
export interface IamRequest {
  /** `service:Action`, as a policy names it. */
  readonly action: string;
  /** The resource ARN IAM evaluates, or `*` for an action without resource-level permissions. */
  readonly resource: string;
  /** Request context keys the policies may read (e.g. `ec2:SourceInstanceARN` for an instance role). */
  readonly context?: Readonly<Record<string, string>>;
  /** The resource's tags, as IAM reads them in `aws:ResourceTag/<key>`. */
  readonly resourceTags?: Readonly<Record<string, string>>;
}

/** An identity policy of a role, resolved. */
export interface RolePolicy {
  readonly name: string;
  readonly policy: { Version: string; Statement: Json[] };
}

/** The physical name of a resource that names itself in the template, else a fake one. */
const NAME_PROPERTY: Readonly<Record<string, string>> = {
  "AWS::DynamoDB::Table": "TableName",
  "AWS::Lambda::Function": "FunctionName",
  "AWS::AutoScaling::AutoScalingGroup": "AutoScalingGroupName",
  "AWS::Events::Rule": "Name",
  "AWS::Logs::LogGroup": "LogGroupName",
  "AWS::IAM::Role": "RoleName",
  "AWS::SecretsManager::Secret": "Name",
};

const arn = (service: string, resource: string, region = FAKE_REGION) =>
  `arn:${PARTITION}:${service}:${region}:${FAKE_ACCOUNT}:${resource}`;

/** The ARN of an Auto Scaling group (the id part is the group's UUID, fixed here). */
export const groupArn = (groupName: string) =>
  arn("autoscaling", `autoScalingGroup:00000000-0000-4000-8000-000000000000:autoScalingGroupName/${groupName}`);

/**
 * Resolves a template's intrinsic functions (Ref, Fn::GetAtt, Fn::Join, Fn::Sub) over its own
 * resources and the pseudo parameters. Anything else fails loudly: an unresolved value would make
 * every check beside the point.
 */
export class TemplateResolver {
  private readonly resources: Record<string, Json>;

  constructor(
    template: { Resources: Record<string, Json> },
    private readonly stackName: string,
  ) {
    this.resources = template.Resources;
  }

  /** The physical name of a resource: its name property when literal, else `<stack>-<logical id>`. */
  name(logicalId: string): string {
    const resource = this.resource(logicalId);
    const literal = resource.Properties?.[NAME_PROPERTY[resource.Type] ?? ""];
    return typeof literal === "string" ? literal : `${this.stackName}-${logicalId}`;
  }

  ref(logicalId: string): string {
    const pseudo: Record<string, string> = {
      "AWS::Partition": PARTITION,
      "AWS::Region": FAKE_REGION,
      "AWS::AccountId": FAKE_ACCOUNT,
      "AWS::URLSuffix": "amazonaws.com",
      "AWS::StackName": this.stackName,
      "AWS::StackId": arn("cloudformation", `stack/${this.stackName}/11111111-2222-4333-8444-555555555555`),
    };
    const value = pseudo[logicalId];
    if (value !== undefined) return value;
    const type = this.resource(logicalId).Type;
    switch (type) {
      case "AWS::SecretsManager::Secret":
        // Secrets Manager appends 6 random characters to a secret's name in its ARN.
        return arn("secretsmanager", `secret:${this.name(logicalId)}-AbCdEf`);
      case "AWS::DynamoDB::Table":
      case "AWS::Lambda::Function":
      case "AWS::AutoScaling::AutoScalingGroup":
      case "AWS::Events::Rule":
      case "AWS::Logs::LogGroup":
      case "AWS::IAM::Role":
        return this.name(logicalId);
      case "AWS::ElasticLoadBalancingV2::TargetGroup":
        return arn("elasticloadbalancing", `targetgroup/${this.name(logicalId)}/0123456789abcdef`);
      default:
        throw new Error(`no fake Ref for ${logicalId} (${type}): add it to TemplateResolver`);
    }
  }

  getAtt(logicalId: string, attribute: string): string {
    const type = this.resource(logicalId).Type;
    const name = this.name(logicalId);
    const arns: Record<string, () => string> = {
      "AWS::DynamoDB::Table.Arn": () => arn("dynamodb", `table/${name}`),
      "AWS::Lambda::Function.Arn": () => arn("lambda", `function:${name}`),
      "AWS::Logs::LogGroup.Arn": () => arn("logs", `log-group:${name}:*`),
      "AWS::Events::Rule.Arn": () => arn("events", `rule/${name}`),
      "AWS::IAM::Role.Arn": () => `arn:${PARTITION}:iam::${FAKE_ACCOUNT}:role/${name}`,
      "AWS::ElasticLoadBalancingV2::LoadBalancer.DNSName": () => `${name}.elb.${FAKE_REGION}.amazonaws.com`,
    };
    const make = arns[`${type}.${attribute}`];
    if (!make) throw new Error(`no fake Fn::GetAtt ${logicalId}.${attribute} (${type}): add it to TemplateResolver`);
    return make();
  }

  /** A template value with every intrinsic function resolved. */
  resolve(value: Json): Json {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (value === null || typeof value !== "object") return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const [fn] = keys as [string];
      const arg = value[fn];
      if (fn === "Ref") return this.ref(arg);
      if (fn === "Fn::GetAtt") return this.getAtt(arg[0], arg[1]);
      if (fn === "Fn::Join") return (this.resolve(arg[1]) as string[]).join(arg[0]);
      if (fn === "Fn::Sub") return this.sub(arg);
      if (fn.startsWith("Fn::")) throw new Error(`TemplateResolver does not resolve ${fn}`);
    }
    return Object.fromEntries(keys.map((key) => [key, this.resolve(value[key])]));
  }

  /** The identity policies of a role: its inline policies and every AWS::IAM::Policy attached to it. */
  rolePolicies(roleId: string): RolePolicy[] {
    const role = this.resource(roleId);
    const managed = role.Properties?.ManagedPolicyArns ?? [];
    if (managed.length > 0) {
      // A managed policy's document is not in the template: it cannot be checked offline.
      throw new Error(`role ${roleId} has managed policies ${JSON.stringify(managed)}: write explicit statements`);
    }
    const inline: RolePolicy[] = (role.Properties?.Policies ?? []).map((p: Json) => ({
      name: p.PolicyName,
      policy: this.resolve(p.PolicyDocument),
    }));
    const attached = Object.entries(this.resources)
      .filter(([, r]) => r.Type === "AWS::IAM::Policy" && r.Properties.Roles.some((ref: Json) => ref.Ref === roleId))
      .map(([id, r]) => ({ name: id, policy: this.resolve(r.Properties.PolicyDocument) }));
    return [...inline, ...attached];
  }

  private sub(arg: Json): string {
    const [text, variables] = typeof arg === "string" ? [arg, {}] : [arg[0], arg[1] ?? {}];
    return (text as string).replace(/\$\{([^}!][^}]*)\}/g, (_match, name: string) => {
      if (name in variables) return String(this.resolve(variables[name]));
      const [id, attribute] = name.split(".");
      return attribute === undefined ? this.ref(id as string) : this.getAtt(id as string, attribute);
    });
  }

  private resource(logicalId: string): Json {
    const resource = this.resources[logicalId];
    if (!resource) throw new Error(`no resource ${logicalId} in the template`);
    return resource;
  }
}

/** The actions a role's policies allow (as written: the tests keep wildcards out of actions). */
export function grantedActions(policies: readonly RolePolicy[]): Set<string> {
  const list = (value: string | string[]) => (Array.isArray(value) ? value : [value]);
  return new Set(
    policies.flatMap((p) => p.policy.Statement.filter((s) => s.Effect === "Allow").flatMap((s) => list(s.Action))),
  );
}

/** What IAM decides for one request of a role. */
export interface IamDecision {
  readonly allowed: boolean;
  /** `Allowed`, `ImplicitlyDenied` or `ExplicitlyDenied`. */
  readonly result: string;
}

/**
 * Context keys of a request signed with an EC2 instance role's credentials. AWS's Service
 * Authorization Reference, which the simulator validates keys against, lists a key per action, and
 * these per service at most: the simulator would drop them from an SSM request. They are evaluated
 * as given (the node role's own-secret grant reads `${ec2:SourceInstanceARN}`).
 */
const INSTANCE_ROLE_KEYS = new Set(["ec2:InstanceID", "ec2:SourceInstanceARN"]);

/** The ARN of an EC2 instance. */
export const instanceArn = (instanceId: string) => arn("ec2", `instance/${instanceId}`);

/** The context of a request signed with the instance role's credentials of `instanceId`. */
export function instanceRoleContext(instanceId: string): Record<string, string> {
  return { "ec2:InstanceID": instanceId, "ec2:SourceInstanceARN": instanceArn(instanceId) };
}

/**
 * Decides one request of a role with the validating simulator: an unknown action, a resource ARN
 * that is not of the action's resource type, or a context key AWS does not document for the action
 * fails the test instead of passing silently.
 */
export async function decide(
  principal: string,
  policies: readonly RolePolicy[],
  request: IamRequest,
): Promise<IamDecision> {
  const simulation = {
    request: {
      principal,
      action: request.action,
      resource: { resource: request.resource, accountId: FAKE_ACCOUNT },
      contextVariables: {
        ...request.context,
        ...Object.fromEntries(
          Object.entries(request.resourceTags ?? {}).map(([key, value]) => [`aws:ResourceTag/${key}`, value]),
        ),
      },
    },
    identityPolicies: [...policies],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  };
  const response = await runSimulation(simulation, {});
  if (response.resultType === "error") {
    throw new Error(`${request.action} on ${request.resource}: ${JSON.stringify(response.errors)}`);
  }
  const ignored = response.resultType === "single" ? (response.result.ignoredContextKeys ?? []) : [];
  const unknown = ignored.filter((key) => !INSTANCE_ROLE_KEYS.has(key));
  if (unknown.length > 0) throw new Error(`${request.action}: context keys ${unknown} do not apply to it`);
  if (ignored.length > 0) {
    // Validated above (action, resource type); evaluated again with the instance role's keys kept.
    const result = runUnsafeSimulation(simulation, {});
    return { allowed: result === "Allowed", result };
  }
  return { allowed: response.overallResult === "Allowed", result: response.overallResult };
}
