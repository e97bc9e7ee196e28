/**
 * Every AWS SDK client the Lambdas build, mocked with aws-sdk-client-mock so that each command they
 * send is recorded, and each recorded command translated into the request IAM authorizes: its
 * action and the ARN of the resource it acts on.
 */
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient, type TransactWriteItem } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SSMClient } from "@aws-sdk/client-ssm";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { FAKE_ACCOUNT, FAKE_REGION, groupArn, type IamRequest } from "./iam-simulation";

// biome-ignore lint/suspicious/noExplicitAny: any SDK client or command
type Any = any;

/** The mocked clients, by the IAM service prefix of their commands. */
export function mockAwsClients() {
  return {
    autoscaling: mockClient(AutoScalingClient),
    cloudwatch: mockClient(CloudWatchClient),
    dynamodb: mockClient(DynamoDBClient),
    ec2: mockClient(EC2Client),
    elasticloadbalancing: mockClient(ElasticLoadBalancingV2Client),
    lambda: mockClient(LambdaClient),
    secretsmanager: mockClient(SecretsManagerClient),
    ssm: mockClient(SSMClient),
  } satisfies Record<string, AwsClientStub<Any>>;
}

export type AwsMocks = ReturnType<typeof mockAwsClients>;

/** Resets every mock: each command then succeeds with an empty answer until a test says otherwise. */
export function resetAwsMocks(mocks: AwsMocks): void {
  for (const mock of Object.values(mocks) as AwsClientStub<Any>[]) {
    mock.reset();
    mock.onAnyCommand().resolves({});
  }
}

/** One command a Lambda sent. */
export interface SentCommand {
  readonly service: keyof AwsMocks;
  /** The command as sent (a DynamoDB transaction counts as each of its items' own operation). */
  readonly name: string;
  readonly input: Record<string, Any>;
}

/** Every command sent through the mocks since their last reset, in order. */
export function sentCommands(mocks: AwsMocks): SentCommand[] {
  return Object.entries(mocks).flatMap(([service, mock]) =>
    mock.calls().flatMap((call): SentCommand[] => {
      const sent = call.args[0] as Any;
      const name: string = sent.constructor.name;
      if (name === "TransactWriteItemsCommand")
        return (sent.input.TransactItems as TransactWriteItem[]).map(transactionItem);
      const one = { service: service as keyof AwsMocks, name, input: sent.input };
      // The tags PutParameter sets are authorized as ssm:AddTagsToResource too.
      if (name === "PutParameterCommand" && sent.input.Tags) return [one, { ...one, name: "AddTagsToResourceCommand" }];
      return [one];
    }),
  );
}

/**
 * IAM authorizes each item of a TransactWriteItems as its own operation (there is no
 * TransactWriteItems action): an Update as UpdateItem, a ConditionCheck as ConditionCheckItem...
 */
function transactionItem(item: TransactWriteItem): SentCommand {
  const [kind, input] = Object.entries(item).find(([, value]) => value !== undefined) as [string, Any];
  const operation = kind === "ConditionCheck" ? "ConditionCheckItem" : `${kind}Item`;
  return { service: "dynamodb", name: `${operation}Command`, input };
}

/** The IAM action of an operation whose action is not named after it. */
const ACTION_OF: Readonly<Record<string, string>> = {
  "lambda:Invoke": "lambda:InvokeFunction",
};

/**
 * The request IAM authorizes for a command.
 * @param groupOf the group an instance belongs to: IAM authorizes TerminateInstanceInAutoScalingGroup
 *   on the group, which the request names only through its instance
 */
export function iamRequestOf(command: SentCommand, groupOf: (instanceId: string) => string): IamRequest {
  const operation = `${command.service}:${command.name.replace(/Command$/, "")}`;
  const action = ACTION_OF[operation] ?? operation;
  const regional = (service: string, resource: string) =>
    `arn:aws:${service}:${FAKE_REGION}:${FAKE_ACCOUNT}:${resource}`;
  const { input } = command;
  switch (command.service) {
    case "dynamodb": {
      // A BatchGetItem names its table in its request items; a Query of an index is authorized on the index.
      const table = input.TableName ?? Object.keys(input.RequestItems ?? {})[0];
      const index = input.IndexName ? `/index/${input.IndexName}` : "";
      return { action, resource: regional("dynamodb", `table/${table}${index}`) };
    }
    case "autoscaling":
      if (command.name === "DescribeAutoScalingGroupsCommand") return { action, resource: "*" };
      return { action, resource: groupArn(input.AutoScalingGroupName ?? groupOf(input.InstanceId)) };
    case "cloudwatch":
    case "ec2":
      // GetMetricData and DescribeInstanceStatus have no resource-level permissions.
      return { action, resource: "*" };
    case "elasticloadbalancing":
      // DescribeTargetHealth has no resource-level permissions; moving a target is on its group.
      return { action, resource: command.name === "DescribeTargetHealthCommand" ? "*" : input.TargetGroupArn };
    case "lambda":
      return {
        action,
        resource: String(input.FunctionName).startsWith("arn:")
          ? input.FunctionName
          : regional("lambda", `function:${input.FunctionName}`),
      };
    case "secretsmanager":
      // The Lambdas get the secrets' ARNs (the secrets use Secrets Manager's own key: no KMS grant).
      return { action, resource: input.SecretId };
    case "ssm":
      // Parameter names start with '/'; SecureStrings use SSM's own key (aws/ssm): no KMS grant.
      return { action, resource: regional("ssm", `parameter${input.Name}`) };
  }
}
