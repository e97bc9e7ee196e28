/**
 * The simulation engine: virtual time, the trace's cameras, the machines and the measurements.
 * A fleet driver (ours, `packed`, or a baseline) decides where cameras go and when machines are
 * launched and stopped; the engine replays the trace, samples every machine's CPU once a second
 * and measures what the run cost and what it did to the cameras.
 */
import { type Action, EventQueue } from "./event-queue";
import { type CpuModel, SimMachine } from "./machine";
import { fillOrderInstanceHours, neverCutInstanceHours, traceSessions } from "./never-cut";
import { type SimOptions, streamsPerNodeAtThreshold } from "./options";
import { Random } from "./random";
import { liveBySecond, type Trace } from "./trace";
import { WarmPool } from "./warm-pool";

/** The wall-clock time of the trace's second 0 (any fixed instant keeps runs reproducible). */
export const SIM_EPOCH_MS = Date.UTC(2026, 0, 5, 0, 0, 0);

/** One camera session of the trace: from its `publish` line to its `done` line. */
export interface Session {
  readonly stream: string;
  /** When the camera first asked for a node (epoch ms). */
  readonly startedAt: number;
  /** When a node first took it (epoch ms). */
  placedAt?: number;
  /** The machine whose nginx publishes it, while it is live. */
  machine?: SimMachine;
  /** nginx-rtmp's client id of its live connection. */
  clientId?: string;
  /** True once the trace's `done` came. */
  ended: boolean;
  /** Bumped whenever the camera starts over, so that its older pending steps do nothing. */
  attempt: number;
}

/** What decides where cameras go and how many machines run. */
export interface FleetDriver {
  /** Starts the fleet at the start of the warm-up: schedules its periodic work. */
  start(): Promise<void>;
  /** A camera wants a node: a new session, or one whose node went away. */
  connect(session: Session): Promise<void>;
  /** A camera ends its session (it may be live, connecting or still waiting). */
  disconnect(session: Session): Promise<void>;
}

/** The chart's data: per bucket of time, the fleet's size and each node's CPU. */
export interface RunSeries {
  /** Seconds per bucket. */
  readonly bucketSeconds: number;
  /** Start of each bucket, seconds from the trace's start. */
  readonly t: number[];
  /** Instances in the group (booting and leaving ones too), averaged over the bucket. */
  readonly nodes: number[];
  /** The lower bound's nodes, at most over the bucket. */
  readonly lowerBound: number[];
  /** Sessions of the trace live, averaged over the bucket. */
  readonly demand: number[];
  /** Average CPU of each node over the bucket (null while it was not running). */
  readonly cpu: { readonly nodeId: string; readonly values: (number | null)[] }[];
}

/** What a run measured. */
export interface SimResult {
  readonly trace: string;
  readonly policy: string;
  readonly seed: number;
  readonly lengthHours: number;
  readonly sessions: number;
  /** Instance-hours from the trace's start to its end: every instance, booting and leaving ones too. */
  readonly instanceHours: number;
  /** At each second, the fewest nodes that carry the trace's live sessions at the threshold, integrated. */
  readonly lowerBoundInstanceHours: number;
  /** instanceHours / lowerBoundInstanceHours. */
  readonly ratio: number;
  /** What a clairvoyant policy that never moves a stream needs, on nodes of the bound's size (`never-cut.ts`). */
  readonly neverCutInstanceHours: number;
  /** The spare the policy is told to keep: bufferNodes × the trace's length (0 for the baselines). */
  readonly spareInstanceHours: number;
  /** instanceHours / (lowerBoundInstanceHours + spareInstanceHours). */
  readonly ratioWithSpare: number;
  /** instanceHours / (neverCutInstanceHours + spareInstanceHours): the target is at most 1.05. */
  readonly ratioToNeverCut: number;
  /** The fill order's own cost (`fillOrderInstanceHours`): exact capacity, instant boots, no spare. */
  readonly fillOrderInstanceHours: number;
  /** instanceHours / (fillOrderInstanceHours + spareInstanceHours): what the rules lose beyond the fill order's own cost. */
  readonly ratioToFillOrder: number;
  /** Live streams cut because their node was stopped. */
  readonly interruptedStreams: number;
  /** Node-seconds with CPU above the threshold + 10 points. */
  readonly overloadNodeSeconds: number;
  /** 95th percentile of the wait from a camera's first resolve to a node taking it (seconds). */
  readonly waitP95Seconds: number;
  readonly waitMaxSeconds: number;
  /** Sessions that waited at all: no node took them at their first try. */
  readonly waitedSessions: number;
  /** Sessions that ended before any node took them. */
  readonly rejected: number;
  /** Publishes refused by the control plane (each is followed by a new resolve). */
  readonly publishDenied: number;
  /** The most instances at once. */
  readonly peakNodes: number;
  /** The most streams one node carried at once. */
  readonly peakStreamsPerNode: number;
  /** Streams one node carries at the threshold (the lower bound's node size). */
  readonly streamsPerNode: number;
  /** The chart's data (left out of JSON output). */
  readonly series: RunSeries;
}

/** How often progress is reported (fraction of the virtual time). */
const PROGRESS_STEP = 0.1;

/** Runs a trace against a fleet driver in virtual time. */
export class SimEngine {
  /** Machines billed now (launched, not yet stopped), by instance id. */
  readonly machines = new Map<string, SimMachine>();
  /** Live, connecting and waiting sessions, by stream name. */
  readonly sessions = new Map<string, Session>();
  readonly cpuModel: CpuModel;
  interruptedStreams = 0;
  publishDenied = 0;
  private rejected = 0;
  private readonly waits: number[] = [];
  private readonly queue = new EventQueue();
  private nowMs: number;
  private readonly startMs: number;
  private readonly endMs: number;
  private machineCount = 0;
  private sampleSecond: number;
  private instanceSeconds = 0;
  private overloadSeconds = 0;
  private peakNodes = 0;
  private peakStreamsPerNode = 0;
  /** Streams a node carries at the threshold: the lower bound's and the never-cut reference's node size. */
  private readonly perNode: number;
  private readonly lowerBoundNodes: Int32Array;
  private readonly demand: Int32Array;
  private readonly bucket: {
    seconds: number;
    nodes: number[];
    lowerBound: number[];
    demand: number[];
    cpu: Map<string, { sum: number[]; count: number[] }>;
  };
  private driver: FleetDriver | undefined;
  private readonly warmPool: WarmPool;

  /**
   * @param trace the cameras
   * @param options the policy's knobs and the model
   * @param onProgress called as virtual time advances, with the fraction done
   */
  constructor(
    readonly trace: Trace,
    readonly options: SimOptions,
    private readonly onProgress?: (fraction: number) => void,
  ) {
    const model = options.model;
    this.cpuModel = {
      baseCpuPercent: model.baseCpuPercent,
      streamCpuPercent: model.streamCpuPercent,
      cpuNoisePercent: model.cpuNoisePercent,
      metricDelayMs: model.metricDelaySeconds * 1000,
    };
    this.warmPool = new WarmPool(options.fleet.warmPoolSize);
    this.startMs = SIM_EPOCH_MS - Math.round(model.warmupSeconds) * 1000;
    this.endMs = SIM_EPOCH_MS + trace.lengthSeconds * 1000;
    this.nowMs = this.startMs;
    this.sampleSecond = -Math.round(model.warmupSeconds);
    this.demand = liveBySecond(trace);
    this.perNode = streamsPerNodeAtThreshold(options);
    this.lowerBoundNodes = this.demand.map((live) => Math.ceil(live / this.perNode));
    // About 600 points a line: enough for a chart, small enough for an SVG.
    const seconds = Math.max(60, Math.ceil(trace.lengthSeconds / 600 / 60) * 60);
    this.bucket = { seconds, nodes: [], lowerBound: [], demand: [], cpu: new Map() };
  }

  /** The current virtual time (epoch ms). */
  readonly now = (): number => this.nowMs;

  /** Seconds from the trace's start to `ms`. */
  secondsOf(ms: number): number {
    return (ms - SIM_EPOCH_MS) / 1000;
  }

  /** Schedules `action` at `at` (epoch ms); nothing runs after the trace's end. */
  schedule(at: number, action: Action): void {
    if (at > this.endMs) return;
    this.queue.push(Math.max(at, this.nowMs), action);
  }

  /** Runs `action` every `periodMs` from `firstAt` until the trace ends. */
  every(firstAt: number, periodMs: number, action: () => Promise<boolean | undefined> | boolean | undefined): void {
    const tick = async (): Promise<void> => {
      const more = await action();
      if (more !== false) this.schedule(this.nowMs + periodMs, tick);
    };
    this.schedule(firstAt, tick);
  }

  /** Starts a machine for an instance launched now: from the warm pool when it has one, else a new instance. */
  launchMachine(id: string): SimMachine {
    const index = this.machineCount++;
    const { coldBootSeconds, warmBootSeconds } = this.options.model;
    const warm = this.warmPool.take(this.nowMs, coldBootSeconds * 1000);
    const readyAt = this.nowMs + (warm ? warmBootSeconds : coldBootSeconds) * 1000;
    const random = Random.derive(this.options.seed, `machine-noise-${index}`);
    const machine = new SimMachine(id, this.nowMs, readyAt, this.cpuModel, random);
    this.machines.set(id, machine);
    return machine;
  }

  /**
   * Stops a machine for good (its instance is terminated): the streams it still carries are cut, and
   * their cameras start over.
   */
  stopMachine(id: string): void {
    const machine = this.machines.get(id);
    if (!machine) return;
    machine.stoppedAt = this.nowMs;
    this.machines.delete(id);
    for (const stream of [...machine.streams.keys()]) {
      const session = this.sessions.get(stream);
      machine.streams.delete(stream);
      this.interruptedStreams++;
      if (!session || session.ended) continue;
      session.machine = undefined;
      session.clientId = undefined;
      session.attempt++;
      const attempt = session.attempt;
      const driver = this.driver as FleetDriver;
      // The camera sees its connection drop and asks again at once.
      this.schedule(this.nowMs, async () => {
        if (session.attempt === attempt && !session.ended) await driver.connect(session);
      });
    }
  }

  /** Records that a node took the camera (its wait ends at its first placement). */
  placed(session: Session): void {
    if (session.placedAt !== undefined) return;
    session.placedAt = this.nowMs;
    this.waits.push((this.nowMs - session.startedAt) / 1000);
  }

  /** The camera publishes on `machine`'s nginx. */
  goLive(session: Session, machine: SimMachine, clientId: string): void {
    machine.streams.set(session.stream, clientId);
    session.machine = machine;
    session.clientId = clientId;
  }

  /** Replays the trace through `driver` and measures the run. */
  async run(driver: FleetDriver): Promise<SimResult> {
    this.driver = driver;
    for (const event of this.trace.events) {
      const at = SIM_EPOCH_MS + event.t * 1000;
      if (event.event === "publish") this.schedule(at, () => this.publish(event.stream));
      else this.schedule(at, () => this.done(event.stream));
    }
    await driver.start();
    let reported = 0;
    for (;;) {
      const next = this.queue.peekTime();
      if (next === undefined || next > this.endMs) break;
      this.sampleUntil(next);
      const { at, action } = this.queue.pop() as { at: number; action: Action };
      this.nowMs = at;
      await action();
      const fraction = (this.nowMs - this.startMs) / (this.endMs - this.startMs);
      if (this.onProgress && fraction - reported >= PROGRESS_STEP) {
        reported = fraction;
        this.onProgress(fraction);
      }
    }
    this.sampleUntil(this.endMs);
    this.nowMs = this.endMs;
    return this.result();
  }

  private async publish(stream: string): Promise<void> {
    const session: Session = { stream, startedAt: this.nowMs, ended: false, attempt: 0 };
    this.sessions.set(stream, session);
    await (this.driver as FleetDriver).connect(session);
  }

  private async done(stream: string): Promise<void> {
    const session = this.sessions.get(stream);
    if (!session) return;
    this.sessions.delete(stream);
    session.ended = true;
    session.attempt++;
    if (session.placedAt === undefined) {
      // It gave up waiting: its wait counts for as long as it lasted.
      this.rejected++;
      this.waits.push((this.nowMs - session.startedAt) / 1000);
    }
    // The stream stops on its node first; then the driver hears of it (nginx's on_publish_done).
    session.machine?.streams.delete(stream);
    await (this.driver as FleetDriver).disconnect(session);
    session.machine = undefined;
  }

  /** Takes the one-second samples of every whole second before `until` (epoch ms) not yet sampled. */
  private sampleUntil(until: number): void {
    const threshold = this.options.fleet.cpuThresholdPercent;
    const length = this.demand.length;
    for (;;) {
      const at = SIM_EPOCH_MS + this.sampleSecond * 1000;
      // Samples at a second are taken before the events of that second, and none at the end itself.
      if (at > until || at >= this.endMs) return;
      const s = this.sampleSecond++;
      const measured = s >= 0 && s < length;
      const b = measured ? Math.floor(s / this.bucket.seconds) : -1;
      if (measured) {
        this.instanceSeconds += this.machines.size + this.warmPool.refilling(at);
        this.peakNodes = Math.max(this.peakNodes, this.machines.size);
        addTo(this.bucket.nodes, b, this.machines.size);
        addTo(this.bucket.demand, b, this.demand[s] as number);
        this.bucket.lowerBound[b] = Math.max(this.bucket.lowerBound[b] ?? 0, this.lowerBoundNodes[s] as number);
      }
      for (const machine of this.machines.values()) {
        if (!machine.running(at)) continue;
        const cpu = machine.sample(at);
        if (!measured) continue;
        this.peakStreamsPerNode = Math.max(this.peakStreamsPerNode, machine.streams.size);
        if (cpu > threshold + 10) this.overloadSeconds++;
        let series = this.bucket.cpu.get(machine.id);
        if (!series) {
          series = { sum: [], count: [] };
          this.bucket.cpu.set(machine.id, series);
        }
        addTo(series.sum, b, cpu);
        addTo(series.count, b, 1);
      }
    }
  }

  private result(): SimResult {
    const lengthSeconds = this.demand.length;
    const hours = lengthSeconds / 3600;
    let lowerBoundSeconds = 0;
    for (const nodes of this.lowerBoundNodes) lowerBoundSeconds += nodes;
    const instanceHours = this.instanceSeconds / 3600;
    const lowerBoundInstanceHours = lowerBoundSeconds / 3600;
    const sessions = traceSessions(this.trace);
    const neverCut = neverCutInstanceHours(sessions, this.perNode, this.options.seed);
    const fillOrder = fillOrderInstanceHours(sessions, this.perNode);
    const spareInstanceHours = this.options.policy === "packed" ? this.options.fleet.bufferNodes * hours : 0;
    const waits = [...this.waits].sort((a, b) => a - b);
    const buckets = Math.ceil(lengthSeconds / this.bucket.seconds);
    const secondsIn = (b: number) => Math.min(this.bucket.seconds, lengthSeconds - b * this.bucket.seconds);
    const series: RunSeries = {
      bucketSeconds: this.bucket.seconds,
      t: Array.from({ length: buckets }, (_, b) => b * this.bucket.seconds),
      nodes: Array.from({ length: buckets }, (_, b) => round((this.bucket.nodes[b] ?? 0) / secondsIn(b), 2)),
      lowerBound: Array.from({ length: buckets }, (_, b) => this.bucket.lowerBound[b] ?? 0),
      demand: Array.from({ length: buckets }, (_, b) => round((this.bucket.demand[b] ?? 0) / secondsIn(b), 1)),
      cpu: [...this.bucket.cpu.entries()].map(([nodeId, { sum, count }]) => ({
        nodeId,
        values: Array.from({ length: buckets }, (_, b) =>
          count[b] ? round((sum[b] as number) / (count[b] as number), 1) : null,
        ),
      })),
    };
    return {
      trace: this.trace.source,
      policy: this.options.policy,
      seed: this.options.seed,
      lengthHours: round(hours, 3),
      sessions: this.trace.events.filter((e) => e.event === "publish").length,
      instanceHours: round(instanceHours, 2),
      lowerBoundInstanceHours: round(lowerBoundInstanceHours, 2),
      ratio: round(lowerBoundInstanceHours > 0 ? instanceHours / lowerBoundInstanceHours : Number.NaN, 3),
      spareInstanceHours: round(spareInstanceHours, 2),
      ratioWithSpare: round(instanceHours / (lowerBoundInstanceHours + spareInstanceHours), 3),
      neverCutInstanceHours: round(neverCut, 2),
      ratioToNeverCut: round(instanceHours / (neverCut + spareInstanceHours), 3),
      fillOrderInstanceHours: round(fillOrder, 2),
      ratioToFillOrder: round(instanceHours / (fillOrder + spareInstanceHours), 3),
      interruptedStreams: this.interruptedStreams,
      overloadNodeSeconds: this.overloadSeconds,
      waitP95Seconds: round(percentile(waits, 0.95), 1),
      waitMaxSeconds: round(waits[waits.length - 1] ?? 0, 1),
      waitedSessions: waits.filter((wait) => wait > 0).length,
      rejected: this.rejected,
      publishDenied: this.publishDenied,
      peakNodes: this.peakNodes,
      peakStreamsPerNode: this.peakStreamsPerNode,
      streamsPerNode: this.perNode,
      series,
    };
  }
}

function addTo(values: number[], index: number, amount: number): void {
  values[index] = (values[index] ?? 0) + amount;
}

/** Nearest-rank percentile of sorted values (0 when there are none). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(p * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
