/**
 * A simulated media node: the machine behind an instance. It boots, carries streams (what its nginx
 * publishes), and burns CPU: base + per-stream cost × streams + noise, sampled once a second.
 *
 * Its CPU is on the agent's scale: the node's one nginx worker's CPU in percent of one core, capped
 * at 100 (a worker cannot use more than its core), the quantity `cpuThresholdPercent` is defined on
 * (docs/NODE.md). Its agent sees the average since its last heartbeat, which is all the packed
 * policy reads. The baselines' target tracking reads CloudWatch 1-minute averages of the same
 * figure, readable only some time after their minute ends: as if CloudWatch saw the worker's core
 * (a one-vCPU instance; on a 2-vCPU one its `CPUUtilization` would read about half).
 */
import type { Random } from "./random";

/** The period of a CloudWatch CPU datapoint: EC2 detailed monitoring's one minute. */
export const CPU_DATAPOINT_PERIOD_MS = 60_000;

/** A CloudWatch datapoint: the average CPU of one minute, readable from `visibleAt`. */
export interface CpuDatapoint {
  /** The end of the minute it averages (epoch ms). */
  readonly at: number;
  readonly percent: number;
  /** When CloudWatch returns it (epoch ms). */
  readonly visibleAt: number;
}

/** How the machine's CPU behaves. */
export interface CpuModel {
  readonly baseCpuPercent: number;
  readonly streamCpuPercent: number;
  readonly cpuNoisePercent: number;
  /** Delay from the end of a minute to its datapoint being readable (ms). */
  readonly metricDelayMs: number;
}

// Noise is an AR(1) process: correlated over about this many seconds, as a busy host's CPU is.
const NOISE_CORRELATION_SECONDS = 30;
const RHO = Math.exp(-1 / NOISE_CORRELATION_SECONDS);

/** One simulated machine. */
export class SimMachine {
  /** Streams its nginx publishes: stream name → client id. */
  readonly streams = new Map<string, string>();
  /** Set once the machine is stopped (epoch ms). */
  stoppedAt: number | undefined;
  /** The latest one-second CPU sample (percent of the worker's core), undefined before boot. */
  cpu: number | undefined;
  private noise = 0;
  private heartbeatSum = 0;
  private heartbeatStreamSum = 0;
  private heartbeatCount = 0;
  private minuteSum = 0;
  private minuteCount = 0;
  private minuteStart: number | undefined;
  private readonly datapoints: CpuDatapoint[] = [];

  /**
   * @param id the instance id
   * @param launchedAt when the instance launched (epoch ms)
   * @param readyAt when it has booted and nginx answers (epoch ms)
   * @param random this machine's own noise source
   */
  constructor(
    readonly id: string,
    readonly launchedAt: number,
    readonly readyAt: number,
    private readonly model: CpuModel,
    private readonly random: Random,
  ) {
    this.noise = random.normal(0, model.cpuNoisePercent);
  }

  /** True once booted and until stopped, at `now`. */
  running(now: number): boolean {
    return now >= this.readyAt && this.stoppedAt === undefined;
  }

  /** Takes the one-second CPU sample at `now` (call once per second while running); returns it. */
  sample(now: number): number {
    const sigma = this.model.cpuNoisePercent;
    this.noise = RHO * this.noise + Math.sqrt(1 - RHO * RHO) * this.random.normal(0, sigma);
    const raw = this.model.baseCpuPercent + this.model.streamCpuPercent * this.streams.size + this.noise;
    const cpu = Math.min(100, Math.max(0, raw));
    this.cpu = cpu;
    this.heartbeatSum += cpu;
    this.heartbeatStreamSum += this.streams.size;
    this.heartbeatCount++;
    // CloudWatch's minutes are wall-clock minutes.
    const minute = Math.floor(now / CPU_DATAPOINT_PERIOD_MS) * CPU_DATAPOINT_PERIOD_MS;
    if (this.minuteStart !== undefined && minute !== this.minuteStart) this.closeMinute();
    if (this.minuteStart !== minute) this.minuteStart = minute;
    this.minuteSum += cpu;
    this.minuteCount++;
    return cpu;
  }

  /**
   * The agent's reading since its previous one: the average CPU, as /proc/stat deltas give it, and
   * the average number of publishing streams, as sampling rtmp_stat each second gives it.
   */
  readAgent(): { cpuPercent: number; streamsAverage: number } | undefined {
    if (this.heartbeatCount === 0) return undefined;
    const cpu = this.heartbeatSum / this.heartbeatCount;
    const streams = this.heartbeatStreamSum / this.heartbeatCount;
    this.heartbeatSum = 0;
    this.heartbeatStreamSum = 0;
    this.heartbeatCount = 0;
    return { cpuPercent: Math.round(cpu * 10) / 10, streamsAverage: Math.round(streams * 100) / 100 };
  }

  /** The datapoint of the minute ending at `minuteEnd`, if it is readable at `now`. */
  datapointAt(minuteEnd: number, now: number): CpuDatapoint | undefined {
    for (let i = this.datapoints.length - 1; i >= 0; i--) {
      const point = this.datapoints[i] as CpuDatapoint;
      if (point.at === minuteEnd) return point.visibleAt <= now ? point : undefined;
      if (point.at < minuteEnd) return undefined;
    }
    return undefined;
  }

  private closeMinute(): void {
    if (this.minuteStart === undefined || this.minuteCount === 0) return;
    const at = this.minuteStart + CPU_DATAPOINT_PERIOD_MS;
    this.datapoints.push({ at, percent: this.minuteSum / this.minuteCount, visibleAt: at + this.model.metricDelayMs });
    // Only recent datapoints are ever read.
    if (this.datapoints.length > 32) this.datapoints.splice(0, this.datapoints.length - 32);
    this.minuteSum = 0;
    this.minuteCount = 0;
  }
}
