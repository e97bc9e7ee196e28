/** Master secrets from AWS Secrets Manager, fetched on first use and cached for a few minutes. */
import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SecretSource } from "../core/ports";

/** How long a fetched secret is reused: rotation takes effect within this time. */
export const SECRET_CACHE_MS = 5 * 60 * 1000;

/** Where each master secret lives. An absent id turns that check off. */
export interface SecretIds {
  readonly cameraMaster?: string;
  readonly operatorToken?: string;
  readonly viewerMaster?: string;
}

/** A `SecretSource` over Secrets Manager. */
export class SecretsManagerSource implements SecretSource {
  private readonly cache = new Map<string, { value: Promise<string>; at: number }>();

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly ids: SecretIds,
    private readonly now: () => number = Date.now,
  ) {}

  private fetch(secretId: string): Promise<string> {
    const cached = this.cache.get(secretId);
    if (cached && this.now() - cached.at < SECRET_CACHE_MS) return cached.value;
    const value = this.client.send(new GetSecretValueCommand({ SecretId: secretId })).then((out) => {
      if (!out.SecretString) throw new Error(`secret ${secretId} has no string value`);
      return out.SecretString;
    });
    // A failed fetch is not cached: the next request tries again.
    value.catch(() => this.cache.delete(secretId));
    this.cache.set(secretId, { value, at: this.now() });
    return value;
  }

  async cameraMaster(): Promise<string | undefined> {
    return this.ids.cameraMaster === undefined ? undefined : this.fetch(this.ids.cameraMaster);
  }

  async operatorToken(): Promise<string | undefined> {
    return this.ids.operatorToken === undefined ? undefined : this.fetch(this.ids.operatorToken);
  }

  async viewerMaster(): Promise<string | undefined> {
    return this.ids.viewerMaster === undefined ? undefined : this.fetch(this.ids.viewerMaster);
  }
}

/** A `SecretSource` of fixed values (local mode, tests). */
export function staticSecrets(values: {
  cameraMaster?: string;
  operatorToken?: string;
  viewerMaster?: string;
}): SecretSource {
  return {
    cameraMaster: async () => values.cameraMaster,
    operatorToken: async () => values.operatorToken,
    viewerMaster: async () => values.viewerMaster,
  };
}
