/** Scale-out requests: how a resolve that found no room wakes the scaler at once. */
import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import type { ScaleOutRequests } from "../core/ports";

/** Least time between two scale-out requests sent from one process (ms). */
export const SCALE_OUT_DEBOUNCE_MS = 5000;

/**
 * Debounces requests: a burst of resolves that find no room wakes the scaler once per interval.
 * The scaler is idempotent, so a request lost here is only a delay until its next scheduled run.
 */
export class DebouncedScaleOut implements ScaleOutRequests {
  private lastAt = Number.NEGATIVE_INFINITY;

  /**
   * @param send what actually wakes the scaler
   * @param minIntervalMs least time between two sends from this process
   * @param now the clock (epoch ms)
   */
  constructor(
    private readonly send: (reason: string) => Promise<void>,
    private readonly minIntervalMs = SCALE_OUT_DEBOUNCE_MS,
    private readonly now: () => number = Date.now,
  ) {}

  async request(reason: string): Promise<void> {
    const now = this.now();
    if (now - this.lastAt < this.minIntervalMs) return;
    this.lastAt = now;
    await this.send(reason);
  }
}

/** Wakes the scaler Lambda with an asynchronous invocation (`InvocationType: Event`). */
export function invokeScaler(client: LambdaClient, functionName: string): (reason: string) => Promise<void> {
  return async (reason) => {
    await client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: "Event",
        Payload: Buffer.from(JSON.stringify({ source: "resolve", reason })),
      }),
    );
  };
}
