/**
 * CPU quotas for tests and benchmarks of the media node: a cgroup whose processes may use only
 * part of a core, v1 or v2, whichever this machine mounts with the cpu controller. Needs root.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import path from "node:path";

/** A cgroup with a CPU quota. */
export interface CpuQuota {
  /** Its directory: a process joins it by writing its pid to `cgroup.procs`. */
  readonly dir: string;
  /** Scheduler periods so far, and those in which the quota ran out. */
  throttled(): { periods: number; throttled: number };
  /** Removes the cgroup (its processes must be gone). */
  remove(): void;
}

/**
 * A cgroup that may use `cores` of a core. The period is 10 ms, or longer below 0.1 core (the
 * kernel takes no quota under 1 ms): the shorter the period, the less its processes sleep between
 * turns and the more they run as on a busy core of their own (long sleeps let nginx read bigger
 * batches from full socket buffers, at less CPU a byte).
 */
export function cpuQuotaCgroup(cores: number, name = `rtmp-fleet-${process.pid}`): CpuQuota {
  const quota = Math.max(1000, Math.round(cores * 10_000));
  const period = Math.round(quota / cores);
  const v1 = "/sys/fs/cgroup/cpu";
  const dir = existsSync(path.join(v1, "cpu.cfs_quota_us")) ? path.join(v1, name) : path.join("/sys/fs/cgroup", name);
  mkdirSync(dir);
  if (dir.startsWith(v1)) {
    writeFileSync(path.join(dir, "cpu.cfs_period_us"), String(period));
    writeFileSync(path.join(dir, "cpu.cfs_quota_us"), String(quota));
  } else {
    writeFileSync(path.join(dir, "cpu.max"), `${quota} ${period}`);
  }
  return {
    dir,
    throttled: () => {
      const stat = Object.fromEntries(
        readFileSync(path.join(dir, "cpu.stat"), "utf8")
          .trim()
          .split("\n")
          .map((line) => line.split(" ") as [string, string]),
      );
      return { periods: Number(stat.nr_periods), throttled: Number(stat.nr_throttled) };
    },
    remove: () => rmdirSync(dir),
  };
}
