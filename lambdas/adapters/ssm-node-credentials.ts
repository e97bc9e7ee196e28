/**
 * Node secrets in SSM Parameter Store: one SecureString per instance, at `<prefix>/<instanceId>`,
 * tagged with the instance's ARN. The node role may read a parameter under the prefix only when
 * that tag is its own instance's ARN (`ec2:SourceInstanceARN`, see lib/media-node-group.ts), so no
 * node learns another's secret, and the secret never appears in user data or the template.
 */
import { DeleteParameterCommand, GetParameterCommand, PutParameterCommand, type SSMClient } from "@aws-sdk/client-ssm";
import { NODE_SECRET_INSTANCE_TAG } from "../contract";
import type { NodeCredentials } from "../core/ports";

/** A `NodeCredentials` over SSM Parameter Store. */
export class SsmNodeCredentials implements NodeCredentials {
  /**
   * @param prefix parameter path prefix, e.g. `/rtmp-fleet/prod/node-secrets`
   * @param instanceArnPrefix the ARN of an instance without its id, e.g. `arn:aws:ec2:eu-west-1:123456789012:instance/`
   */
  constructor(
    private readonly client: SSMClient,
    private readonly prefix: string,
    private readonly instanceArnPrefix: string,
  ) {}

  /** The parameter that holds a node's secret. */
  parameterName(nodeId: string): string {
    return `${this.prefix}/${nodeId}`;
  }

  /** Creates the parameter only if it is not there (no overwrite: its tag is set with it); reads it otherwise. */
  async issue(nodeId: string, candidate: string): Promise<string> {
    const Name = this.parameterName(nodeId);
    try {
      await this.client.send(
        new PutParameterCommand({
          Name,
          Value: candidate,
          Type: "SecureString",
          Description: `nginx-rtmp node secret of ${nodeId}`,
          Tags: [{ Key: NODE_SECRET_INSTANCE_TAG, Value: `${this.instanceArnPrefix}${nodeId}` }],
        }),
      );
      return candidate;
    } catch (error) {
      if ((error as Error).name !== "ParameterAlreadyExists") throw error;
    }
    const { Parameter } = await this.client.send(new GetParameterCommand({ Name, WithDecryption: true }));
    if (!Parameter?.Value) throw new Error(`${Name} exists but holds no value`);
    return Parameter.Value;
  }

  async revoke(nodeId: string): Promise<void> {
    try {
      await this.client.send(new DeleteParameterCommand({ Name: this.parameterName(nodeId) }));
    } catch (error) {
      if ((error as Error).name !== "ParameterNotFound") throw error;
    }
  }
}
