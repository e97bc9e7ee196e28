/**
 * Node secrets in SSM Parameter Store: one SecureString per instance, at `<prefix>/<instanceId>`.
 * The node role may read only the parameter named after its own instance id (see the CDK stack),
 * so no node learns another's secret, and the secret never appears in user data or the template.
 */
import { DeleteParameterCommand, PutParameterCommand, type SSMClient } from "@aws-sdk/client-ssm";
import { nodeSecret } from "../core/credentials";
import type { NodeCredentials, SecretSource } from "../core/ports";

/** A `NodeCredentials` over SSM Parameter Store. */
export class SsmNodeCredentials implements NodeCredentials {
  /**
   * @param prefix parameter path prefix, e.g. `/rtmp-fleet/prod/node-secrets`
   */
  constructor(
    private readonly client: SSMClient,
    private readonly prefix: string,
    private readonly secrets: SecretSource,
  ) {}

  /** The parameter that holds a node's secret. */
  parameterName(nodeId: string): string {
    return `${this.prefix}/${nodeId}`;
  }

  async issue(nodeId: string): Promise<void> {
    await this.client.send(
      new PutParameterCommand({
        Name: this.parameterName(nodeId),
        Value: nodeSecret(await this.secrets.nodeMaster(), nodeId),
        Type: "SecureString",
        Overwrite: true,
        Description: `nginx-rtmp node secret of ${nodeId}`,
      }),
    );
  }

  async revoke(nodeId: string): Promise<void> {
    try {
      await this.client.send(new DeleteParameterCommand({ Name: this.parameterName(nodeId) }));
    } catch (error) {
      if ((error as Error).name !== "ParameterNotFound") throw error;
    }
  }
}
