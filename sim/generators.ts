/**
 * The standard traces, generated from a seed so that anyone can regenerate the committed files and
 * get the same bytes. Each describes a pattern of cameras the fleet must serve:
 * - `steady-100`: 100 cameras connect within 5 minutes and stream for 6 hours;
 * - `day`: a day that goes 0 → 400 → 50 cameras, camera sessions of 2 hours on average;
 * - `burst-200`: 200 cameras connect within 60 s and stream for an hour;
 * - `churn`: 150 cameras at a time in short sessions (2 minutes on average) for 2 hours.
 *
 * And the trace families: shapes whose size, timing and sessions the seed draws too, so that a
 * policy is judged over many traces it was not tuned on (`TRACE_FAMILIES`).
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

/**
 * `count` cameras connecting at random within `[start, start + spread)`, each streaming about
 * `duration` s; their names start after the first `firstCamera`.
 */
function cohort(
  random: Random,
  count: number,
  start: number,
  spread: number,
  duration: number,
  firstCamera = 0,
): TraceEvent[] {
  const events: TraceEvent[] = [];
  for (let i = 0; i < count; i++) {
    const t = start + random.uniform(0, spread);
    const stream = cameraName(firstCamera + i);
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
      "with minNodes 1 the resting fleet is 6 empty nodes, 6 × 37 = 222 slots at the first estimate (each node's idle CPU, 2% a stream): the burst fits",
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

/** Cameras a family's background sessions draw from; its bursts' cameras are named after them. */
const POOL = 1000;

/**
 * `count` cameras connecting at random within `[start, start + spread)`, each streaming an
 * exponentially distributed time of mean `meanSession` s (at least `minSession`); names start after
 * the first `firstCamera`.
 */
function wave(
  random: Random,
  count: number,
  start: number,
  spread: number,
  meanSession: number,
  minSession: number,
  firstCamera: number,
): TraceEvent[] {
  return Array.from({ length: count }, (_, i) => {
    const t = start + random.uniform(0, spread);
    const stream = cameraName(firstCamera + i);
    const end = t + minSession + random.exponential(meanSession - minSession);
    return [
      { t, stream, event: "publish" as const },
      { t: end, stream, event: "done" as const },
    ];
  }).flat();
}

/** A trace family: its trace drawn from a random source derived from the seed and its name. */
function family(name: string, description: string, draw: (random: Random) => TraceEvent[]): StandardTrace {
  return { name, description, fleet: {}, generate: (seed) => draw(Random.derive(seed, name)) };
}

/**
 * The trace families `npm run bench` replays over many seeds: each seed draws a trace's size,
 * timing and sessions, not only its CPU noise.
 */
export const TRACE_FAMILIES: readonly StandardTrace[] = [
  family(
    "office-day",
    "12 h from 07:00: 150-250 cameras by 09:30 (±30 min), a lunch dip to 85%, down to 5% from 16:30 to 18:30; sessions of 90 min on average",
    (random) => {
      const peak = random.uniform(150, 250);
      const shift = random.uniform(-0.5, 0.5) * HOUR;
      const target = (t: number) => {
        const up = ramp(t, 0.5 * HOUR + shift, 2 * HOUR, 0, peak);
        const lunch =
          t < 5 * HOUR
            ? 1
            : t < 6.5 * HOUR
              ? ramp(t, 5 * HOUR, 0.5 * HOUR, 1, 0.85)
              : ramp(t, 6.5 * HOUR, 0.5 * HOUR, 0.85, 1);
        return t < 9.5 * HOUR + shift ? up * lunch : ramp(t, 9.5 * HOUR + shift, 2 * HOUR, peak, 0.05 * peak);
      };
      return followCurve(random, 12 * HOUR, target, 90 * 60, 60, POOL);
    },
  ),
  family(
    "flash-crowd",
    "3 h of 20-40 cameras (sessions of 1 h on average); 45-75 min in, 120-220 more connect within 1-2 min and stream 30-60 min",
    (random) => {
      const background = random.uniform(20, 40);
      const events = followCurve(random, 3 * HOUR, (t) => ramp(t, 0, 300, 0, background), HOUR, 60, POOL);
      const flash = Math.round(random.uniform(120, 220));
      const at = random.uniform(45, 75) * 60;
      const duration = random.uniform(30, 60) * 60;
      return ordered([...events, ...cohort(random, flash, at, random.uniform(60, 120), duration, POOL)]);
    },
  ),
  family(
    "short-churn",
    "1 h of 80-160 cameras at a time (reached in 10 min), in sessions of 1-3 min on average (at least 5 s)",
    (random) => {
      const level = random.uniform(80, 160);
      const meanSession = random.uniform(60, 180);
      return followCurve(random, HOUR, (t) => ramp(t, 0, 600, 0, level), meanSession, 5, 2 * POOL);
    },
  ),
  family(
    "waves",
    "4 h of waves every 40-70 min, each of 60-140 cameras connecting within 5 min and streaming 30 min on average (at least 5 min)",
    (random) => {
      const events: TraceEvent[] = [];
      let firstCamera = 0;
      for (let start = random.uniform(5, 15) * 60; start < 3.5 * HOUR; start += random.uniform(40, 70) * 60) {
        const count = Math.round(random.uniform(60, 140));
        events.push(...wave(random, count, start, 300, 30 * 60, 5 * 60, firstCamera));
        firstCamera += count;
      }
      return ordered(events.filter((e) => e.t <= 4 * HOUR));
    },
  ),
];
