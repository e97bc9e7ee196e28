/**
 * EC2 Auto Scaling target tracking on average CPU, as the baselines run it. AWS creates two
 * CloudWatch alarms for such a policy: a high one (the metric above the target for 3 consecutive
 * 1-minute datapoints) and a low one (below 90% of the target for 15). On the high alarm the group
 * grows to ceil(capacity × metric / target) at once; on the low one it shrinks to the same formula,
 * but only when no instance is warming up and the scale-in cooldown has passed since the last
 * scaling activity. Instances warming up are left out of the metric but count as capacity.
 */

/** Datapoints above the target that fire the high alarm. */
export const SCALE_OUT_DATAPOINTS = 3;
/** Datapoints below the low threshold that fire the low alarm. */
export const SCALE_IN_DATAPOINTS = 15;
/** The low alarm's threshold, as a fraction of the target. */
export const SCALE_IN_RATIO = 0.9;

/** How the policy is set up. */
export interface TargetTrackingSettings {
  /** The average CPU to hold (percent). */
  readonly targetPercent: number;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  /** Least time from the last scaling activity to a scale-in (ms). */
  readonly scaleInCooldownMs: number;
}

/** The group as the policy sees it when a datapoint arrives. */
export interface TrackedCapacity {
  /** The desired capacity now. */
  readonly desired: number;
  /** Instances whose CPU is in the metric (in service and warmed up). */
  readonly measured: number;
  /** Instances launched but not yet in the metric. */
  readonly warming: number;
}

/** A target tracking policy fed one datapoint a minute. */
export class TargetTracking {
  private readonly history: (number | undefined)[] = [];
  private lastActivityAt = Number.NEGATIVE_INFINITY;

  constructor(readonly settings: TargetTrackingSettings) {}

  /**
   * Takes the group's metric for the next minute (undefined when no instance reported) and returns
   * the new desired capacity when the policy changes it.
   * @param now when the datapoint is evaluated (epoch ms)
   */
  observe(metric: number | undefined, capacity: TrackedCapacity, now: number): number | undefined {
    const { targetPercent, minCapacity, maxCapacity } = this.settings;
    this.history.push(metric);
    if (this.history.length > SCALE_IN_DATAPOINTS) this.history.shift();
    if (metric === undefined || capacity.measured === 0) return undefined;
    const wanted = Math.min(
      maxCapacity,
      Math.max(minCapacity, Math.ceil((capacity.measured * metric) / targetPercent - 1e-9)),
    );
    if (this.last(SCALE_OUT_DATAPOINTS, (v) => v > targetPercent)) {
      if (wanted <= capacity.desired) return undefined;
      this.lastActivityAt = now;
      return wanted;
    }
    const quiet = now - this.lastActivityAt >= this.settings.scaleInCooldownMs;
    if (quiet && capacity.warming === 0 && this.last(SCALE_IN_DATAPOINTS, (v) => v < SCALE_IN_RATIO * targetPercent)) {
      if (wanted >= capacity.desired) return undefined;
      this.lastActivityAt = now;
      return wanted;
    }
    return undefined;
  }

  /** True when the last `n` datapoints exist and all meet `test`. */
  private last(n: number, test: (value: number) => boolean): boolean {
    if (this.history.length < n) return false;
    return this.history.slice(-n).every((v) => v !== undefined && test(v));
  }
}
