/**
 * The standard traces, generated from a seed so that anyone can regenerate the committed files and
 * get the same bytes. Each describes a pattern of cameras the fleet must serve:
 * - `steady-100`: 100 cameras connect within 5 minutes and stream for 6 hours;
 * - `day`: a day that goes 0 → 400 → 50 cameras, camera sessions of 2 hours on average;
 * - `burst-200`: 200 cameras connect within 60 s and stream for an hour;
 * - `churn`: 150 cameras at a time in short sessions (2 minutes on average) for 2 hours.
 */
import type { FleetConfig } from "../lambdas/core/config";
import { Random } from "./random";
import type { TraceEvent } from "./trace";

/** A standard trace: how to make it, and the policy knobs the benchmark runs it with. */
export interface StandardTrace {
  /** The file name without `.csv`. */
  readonly name: string;
  /** One sentence for the benchmark's table. */
  readonly description: string;
  /** Fleet knobs this trace is run with, beyond the simulator's defaults. */
  readonly fleet: Readonly<Partial<FleetConfig>>;
  /** Why those knobs, for the documentation. */
  readonly fleetNote?: string;
  /** The trace's events. */
  generate(seed: number): TraceEvent[];
}

const HOUR = 3600;

/** Names `cam-0001` ... so that traces read well and sort. */
function cameraName(index: number): string {
  return `cam-${String(index + 1).padStart(4, "0")}`;
}

/** Sorts events by time; at equal times a `done` goes first, so a stream can end and start again. */
function ordered(events: TraceEvent[]): TraceEvent[] {
  return events
    .map((e) => ({ ...e, t: Math.round(e.t * 1000) / 1000 }))
    .sort((a, b) => a.t - b.t || (a.event === b.event ? 0 : a.event === "done" ? -1 : 1));
}

/** `count` cameras connecting at random within `[start, start + spread)`, each streaming about `duration` s. */
function cohort(random: Random, count: number, start: number, spread: number, duration: number): TraceEvent[] {
  const events: TraceEvent[] = [];
  for (let i = 0; i < count; i++) {
    const t = start + random.uniform(0, spread);
    const stream = cameraName(i);
    events.push({ t, stream, event: "publish" });
    events.push({ t: start + duration + random.uniform(0, spread), stream, event: "done" });
  }
  return ordered(events);
}

/**
 * Sessions that follow a target number of live cameras, second by second: each session lasts an
 * exponentially distributed time of mean `meanSession` s (at least `minSession`); when the target
 * falls, random live sessions end; when sessions end or the target rises, idle cameras connect.
 */
function followCurve(
  random: Random,
  lengthSeconds: number,
  target: (t: number) => number,
  meanSession: number,
  minSession: number,
  cameras: number,
): TraceEvent[] {
  const events: TraceEvent[] = [];
  const live = new Map<number, number>(); // camera → natural end (s)
  const idle: number[] = Array.from({ length: cameras }, (_, i) => i);
  // A camera that ends in a second connects again in a later second at the earliest.
  let resting: number[] = [];
  const end = (camera: number, t: number) => {
    live.delete(camera);
    resting.push(camera);
    events.push({ t, stream: cameraName(camera), event: "done" });
  };
  // The earliest natural end among live sessions (or earlier): live sessions are scanned only then.
  let nextEnd = Number.POSITIVE_INFINITY;
  for (let second = 0; second < lengthSeconds; second++) {
    idle.push(...resting);
    resting = [];
    if (nextEnd < second + 1) {
      nextEnd = Number.POSITIVE_INFINITY;
      for (const [camera, naturalEnd] of [...live]) {
        if (naturalEnd < second + 1) end(camera, naturalEnd);
        else nextEnd = Math.min(nextEnd, naturalEnd);
      }
    }
    const wanted = Math.round(target(second));
    while (live.size > wanted) {
      const cameraList = [...live.keys()];
      end(cameraList[random.int(cameraList.length)] as number, second + random.next());
    }
    while (live.size < wanted && idle.length > 0) {
      const camera = idle.splice(random.int(idle.length), 1)[0] as number;
      const t = second + random.next();
      const naturalEnd = t + minSession + random.exponential(meanSession - minSession);
      live.set(camera, naturalEnd);
      nextEnd = Math.min(nextEnd, naturalEnd);
      events.push({ t, stream: cameraName(camera), event: "publish" });
    }
  }
  return ordered(events);
}

/** A smooth step from `from` to `to` over `[start, start + span)`. */
function ramp(t: number, start: number, span: number, from: number, to: number): number {
  const x = Math.min(1, Math.max(0, (t - start) / span));
  return from + (to - from) * (1 - Math.cos(Math.PI * x)) * 0.5;
}

/** The standard traces, in the benchmark's order. */
export const STANDARD_TRACES: readonly StandardTrace[] = [
  {
    name: "steady-100",
    description: "100 cameras connect within 5 min and stream for 6 h",
    fleet: {},
    generate: (seed) => cohort(Random.derive(seed, "steady-100"), 100, 0, 300, 6 * HOUR),
  },
  {
    name: "day",
    description: "24 h: none until 06:00, 400 by 09:00 until 17:00, 50 from 20:00; sessions of 2 h on average",
    fleet: {},
    generate: (seed) =>
      followCurve(
        Random.derive(seed, "day"),
        24 * HOUR,
        (t) => (t < 17 * HOUR ? ramp(t, 6 * HOUR, 3 * HOUR, 0, 400) : ramp(t, 17 * HOUR, 3 * HOUR, 400, 50)),
        2 * HOUR,
        60,
        1000,
      ),
  },
  {
    name: "burst-200",
    description: "200 cameras connect within 60 s (after 1 quiet minute) and stream for 1 h",
    fleet: { bufferNodes: 5 },
    fleetNote:
      "with minNodes 1 the resting fleet is 6 empty nodes, about 6 × 38 = 228 slots at the first estimate of 2% a stream: the burst fits",
    generate: (seed) => cohort(Random.derive(seed, "burst-200"), 200, 60, 60, HOUR),
  },
  {
    name: "churn",
    description: "2 h of 150 cameras at a time (reached in 10 min), in sessions of 2 min on average",
    fleet: {},
    generate: (seed) =>
      followCurve(Random.derive(seed, "churn"), 2 * HOUR, (t) => ramp(t, 0, 600, 0, 150), 120, 5, 1000),
  },
];
