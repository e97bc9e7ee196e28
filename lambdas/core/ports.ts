/**
 * Ports: what the control plane needs from the outside world beyond the registry. AWS adapters
 * and local-mode adapters implement them; handlers receive them injected.
 */

/** Asks the scaler to run now, because a resolve found no room. */
export interface ScaleOutRequests {
  /** Requests a scale-out; cheap to call often (implementations debounce). */
  request(reason: string): Promise<void>;
}

/** The master secrets the API checks credentials against. */
export interface SecretSource {
  /** Master secret of the node secrets (required). */
  nodeMaster(): Promise<string>;
  /** Master secret of the camera keys; undefined turns camera keys off (local mode's default). */
  cameraMaster(): Promise<string | undefined>;
  /** Bearer token for the operator views; undefined leaves them open (local mode's default). */
  operatorToken(): Promise<string | undefined>;
}
