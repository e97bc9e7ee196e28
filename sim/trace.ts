/**
 * Camera traces: a CSV of `t,stream,event` lines, `t` in seconds from the start (may be fractional),
 * `event` either `publish` (the camera starts a session) or `done` (it ends it). A trace that does
 * not describe a possible sequence of sessions is refused with the line that breaks it.
 */
import { streamNameProblem } from "../lambdas/core/names";

/** What a camera does at a point of the trace. */
export type TraceEventKind = "publish" | "done";

/** One line of a trace. */
export interface TraceEvent {
  /** Seconds from the start of the trace. */
  readonly t: number;
  readonly stream: string;
  readonly event: TraceEventKind;
}

/** A parsed, checked trace. */
export interface Trace {
  /** Where it came from (a file name), for messages. */
  readonly source: string;
  /** The events in time order (ties in file order). */
  readonly events: readonly TraceEvent[];
  /** The trace's length in seconds: the time of its last event. */
  readonly lengthSeconds: number;
}

/** The header every trace starts with. */
export const TRACE_HEADER = "t,stream,event";

/** A trace that cannot be replayed, with the line (1-based) that shows it. */
export class TraceError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${source}:${line}: ${problem}`);
    this.name = "TraceError";
  }
}

/**
 * Parses and checks a trace. Blank lines are skipped; everything else must be an event.
 * @param text the CSV text
 * @param source named in errors, e.g. the file name
 * @throws TraceError naming the first bad line
 */
export function parseTrace(text: string, source = "trace"): Trace {
  const lines = text.split(/\r?\n/);
  const fail = (index: number, problem: string): never => {
    throw new TraceError(source, index + 1, problem);
  };
  const header = (lines[0] ?? "").trim();
  if (header !== TRACE_HEADER) fail(0, `the header must be '${TRACE_HEADER}', got '${header}'`);

  const events: TraceEvent[] = [];
  const live = new Set<string>();
  const published = new Set<string>();
  let last = 0;
  for (let index = 1; index < lines.length; index++) {
    const line = (lines[index] as string).trim();
    if (line === "") continue;
    const fields = line.split(",");
    if (fields.length !== 3) fail(index, `expected 3 fields (t,stream,event), got ${fields.length}`);
    const [tText, stream, event] = fields.map((f) => f.trim()) as [string, string, string];
    const t = tText === "" ? Number.NaN : Number(tText);
    if (!Number.isFinite(t)) fail(index, `t must be a number of seconds, got '${tText}'`);
    if (t < 0) fail(index, `t must not be negative, got ${t}`);
    if (t < last) fail(index, `time goes backwards: ${t} after ${last}`);
    const nameProblem = streamNameProblem(stream);
    if (nameProblem) fail(index, `bad stream name '${stream}': ${nameProblem}`);
    if (event === "publish") {
      if (live.has(stream)) fail(index, `'${stream}' is published again while it is live`);
      live.add(stream);
      published.add(stream);
    } else if (event === "done") {
      if (!published.has(stream)) fail(index, `'done' for '${stream}', which was never published`);
      if (!live.has(stream)) fail(index, `'done' for '${stream}', which is not live`);
      live.delete(stream);
    } else {
      fail(index, `unknown event '${event}' (expected 'publish' or 'done')`);
    }
    events.push({ t, stream, event: event as TraceEventKind });
    last = t;
  }
  if (events.length === 0) fail(lines.length - 1, "the trace has no events");
  return { source, events, lengthSeconds: last };
}

/** Writes events as a trace CSV (times rounded to the millisecond). */
export function formatTrace(events: readonly TraceEvent[]): string {
  const lines = events.map((e) => `${Number(e.t.toFixed(3))},${e.stream},${e.event}`);
  return `${TRACE_HEADER}\n${lines.join("\n")}\n`;
}

/** The number of sessions live at each whole second `s` of [0, lengthSeconds): the demand. */
export function liveBySecond(trace: Trace): Int32Array {
  const seconds = Math.ceil(trace.lengthSeconds);
  const delta = new Int32Array(seconds + 1);
  for (const e of trace.events) {
    // A session counts at second s when it is live at the instant s.
    const s = Math.min(seconds, Math.ceil(e.t));
    delta[s] = (delta[s] as number) + (e.event === "publish" ? 1 : -1);
  }
  const live = new Int32Array(seconds);
  let running = 0;
  for (let s = 0; s < seconds; s++) {
    running += delta[s] as number;
    live[s] = running;
  }
  return live;
}
