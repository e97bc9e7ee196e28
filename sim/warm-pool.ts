/**
 * An Auto Scaling warm pool as the simulator models it: `warmPoolSize` stopped nodes, initialized
 * already (nginx installed by their first boot), which the group starts before it launches a new
 * instance. A node taken from the pool boots in `warmBootSeconds`; the group replaces it at once
 * with a new instance that runs its first boot (`coldBootSeconds`, billed like any running
 * instance) and then stops. Stopped nodes are not billed for instance time: only for their disk,
 * which the simulator leaves out of instance-hours (docs/BENCHMARKS.md, "Model").
 */
export class WarmPool {
  private stopped: number;
  /** When each replacement under way finishes its first boot and stops (epoch ms). */
  private readonly refills: number[] = [];

  /** @param size the stopped nodes the pool keeps (it starts full: the fleet rests before a trace) */
  constructor(size: number) {
    this.stopped = size;
  }

  /**
   * Takes a stopped node when the pool has one, and starts its replacement, ready `coldBootMs`
   * from `now`.
   * @returns whether a stopped node was taken (the launch boots warm)
   */
  take(now: number, coldBootMs: number): boolean {
    this.settle(now);
    if (this.stopped === 0) return false;
    this.stopped--;
    this.refills.push(now + coldBootMs);
    return true;
  }

  /** Replacements still running their first boot at `now`: billed instances. */
  refilling(now: number): number {
    this.settle(now);
    return this.refills.length;
  }

  /** Replacements whose first boot ended by `now` are stopped nodes of the pool. */
  private settle(now: number): void {
    for (let i = this.refills.length - 1; i >= 0; i--) {
      if ((this.refills[i] as number) > now) continue;
      this.refills.splice(i, 1);
      this.stopped++;
    }
  }
}
