/**
 * A node's CPU profile: what its own heartbeats say its idle CPU is and what one stream costs above
 * it, learned from the CPU readings and stream counts the agent already reports.
 *
 * Placement used to divide the latest reading by the streams it saw: that counts the node's idle
 * CPU into every stream (a half-empty node looks fuller than it is), and it tests each new camera
 * against one noisy reading, so a reading that happens to be low lets one more stream in, which
 * never leaves: nodes crept past the threshold. A profile is a least-squares fit over all the
 * node's readings (older ones fading), so one reading moves it by its share of the evidence only,
 * and the cap it gives (`streamsAtThreshold`) rises only once many readings agree.
 */
import type { FleetConfig } from "./config";
import type { CpuProfile, CpuReading, MediaNode } from "./model";

/**
 * Readings a profile remembers: each new one fades the older ones by 1/this, so the profile
 * follows a node whose streams got heavier within about this many heartbeats (an hour at 15 s).
 */
export const PROFILE_READINGS = 240;

/**
 * Before its readings say otherwise, a node is assumed to cost `streamCpuCostPercent` a stream: the
 * fit starts from one made-up reading of this many streams at that cost. It weighs as much as a
 * real reading of as many streams, so a few readings of a filling node outweigh it.
 */
export const PRIOR_STREAMS = 20;

/**
 * Standard errors added to the fitted cost a stream: the cap counts on the dear side of what the
 * readings say (3, not 2: heartbeats 15 s apart share CPU noise that is correlated over about 30 s).
 * As readings accumulate the error shrinks, and the cap rises to what the node really holds: a
 * full node reopens on settled evidence only.
 */
export const COST_STANDARD_ERRORS = 3;

/** The least a stream is taken to cost (percent): a fit that says less is noise, not a free stream. */
export const MIN_STREAM_COST_PERCENT = 0.01;

const FADE = 1 - 1 / PROFILE_READINGS;

const EMPTY: CpuProfile = {
  idleReadings: 0,
  readings: 0,
  streams: 0,
  streamsSquared: 0,
  percent: 0,
  percentSquared: 0,
  streamsTimesPercent: 0,
};

/** The profile after one more reading: one with no stream updates the idle CPU, any other the fit. */
export function learnCpuProfile(profile: CpuProfile | undefined, reading: CpuReading): CpuProfile {
  const known = profile ?? EMPTY;
  const { streams: n, percent: x } = reading;
  if (n === 0) {
    const idleReadings = Math.min(PROFILE_READINGS, known.idleReadings + 1);
    const idle = known.idlePercent ?? x;
    return { ...known, idleReadings, idlePercent: idle + (x - idle) / idleReadings };
  }
  return {
    ...known,
    readings: known.readings * FADE + 1,
    streams: known.streams * FADE + n,
    streamsSquared: known.streamsSquared * FADE + n * n,
    percent: known.percent * FADE + x,
    percentSquared: known.percentSquared * FADE + x * x,
    streamsTimesPercent: known.streamsTimesPercent * FADE + n * x,
  };
}

/** The node's CPU with no stream (percent): 0 until it has reported a reading with none. */
export function idleCpu(node: MediaNode): number {
  return node.cpuProfile?.idlePercent ?? 0;
}

/**
 * What one more stream costs on this node above its idle CPU (percent), on the dear side: the
 * least-squares slope of its readings' CPU above idle against their streams, with a first made-up
 * reading of `PRIOR_STREAMS` streams at `streamCpuCostPercent` (or `SETTLED_READINGS` of them at
 * the cost it inherited from the fleet), plus `COST_STANDARD_ERRORS` times the slope's standard error (from how
 * far the readings fall from the fit).
 */
export function streamCpuCost(node: MediaNode, config: FleetConfig): number {
  const p = node.cpuProfile ?? EMPTY;
  const own = aboveIdle(p, idleCpu(node));
  if (p.priorCostPercent === undefined) {
    return dearCost(own, config.streamCpuCostPercent, PRIOR_STREAMS * PRIOR_STREAMS);
  }
  // An inherited cost rests on settled readings: it weighs as many, so that the first noisy readings
  // of a node filling fast do not talk it down before their spread shows how little they know.
  return dearCost(own, p.priorCostPercent, SETTLED_READINGS * PRIOR_STREAMS * PRIOR_STREAMS);
}

/** A profile's sums over its readings' CPU above an idle CPU (y): what the fit of the cost a stream needs. */
interface AboveIdle {
  readonly readings: number;
  readonly streamsSquared: number;
  /** Σ streams × y. */
  readonly streamsTimesAbove: number;
  /** Σ y². */
  readonly aboveSquared: number;
}

function aboveIdle(p: CpuProfile, idle: number): AboveIdle {
  return {
    readings: p.readings,
    streamsSquared: p.streamsSquared,
    streamsTimesAbove: p.streamsTimesPercent - idle * p.streams,
    aboveSquared: p.percentSquared - 2 * idle * p.percent + idle * idle * p.readings,
  };
}

/** The dear-side slope of readings above idle, with a made-up reading of weight `prior` (Σ streams²) at `priorCost`. */
function dearCost(sums: AboveIdle, priorCost: number, prior: number): number {
  const { streamsTimesAbove, aboveSquared, streamsSquared, readings } = sums;
  const weight = streamsSquared + prior;
  const slope = (streamsTimesAbove + prior * priorCost) / weight;
  const residuals =
    aboveSquared - 2 * slope * streamsTimesAbove + slope * slope * streamsSquared + prior * (priorCost - slope) ** 2;
  const standardError = Math.sqrt(Math.max(0, residuals) / Math.max(1, readings) / weight);
  return Math.max(MIN_STREAM_COST_PERCENT, slope + COST_STANDARD_ERRORS * standardError);
}

// Guards the comparison against float noise such as 78 + 2 * 1 = 79.99999999.
const EPSILON = 1e-9;

/**
 * How many streams a node holds whose CPU is `cpuPercent` with `streams` streams, each more costing
 * `costPercent`: up to and including the one whose cost reaches `cpuThresholdPercent` (at least
 * one, so that a node can always be tried), none when it is there already. `streams` may be an
 * average over a reading's window, so not a whole number.
 */
export function streamsAtThreshold(
  cpuPercent: number,
  streams: number,
  costPercent: number,
  config: FleetConfig,
): number {
  if (cpuPercent >= config.cpuThresholdPercent - EPSILON) return 0;
  return Math.max(1, Math.ceil(streams + (config.cpuThresholdPercent - cpuPercent) / costPercent - EPSILON));
}

/**
 * The most streams a node holds whose idle CPU and cost a stream are known: the stream that reaches
 * `cpuThresholdPercent` is taken only while at most half of its cost lies beyond it. An estimate a
 * hair too low would otherwise let in a stream that crosses the threshold by nearly its whole cost;
 * the half stream of slack keeps the cap where it is while the estimate wavers around it.
 */
export function streamCap(idlePercent: number, costPercent: number, config: FleetConfig): number {
  return Math.max(1, Math.ceil((config.cpuThresholdPercent - idlePercent) / costPercent - 0.5 - EPSILON));
}

/** What the fleet's own readings say a node costs: where a node with no readings of its own starts. */
export interface FleetProfile {
  /** Idle CPU (percent), undefined before any node has measured its own. */
  readonly idlePercent?: number;
  /** Cost a stream above idle (percent, on the dear side), undefined before any node's own readings settle it. */
  readonly costPercent?: number;
}

/** The middle value (the lower of the two middle ones), undefined when there is none. */
function median(values: readonly number[]): number | undefined {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * Readings of streams (faded, as `CpuProfile.readings` counts them) the fleet's cost must rest on
 * before it passes it on: about 45 heartbeats (11 min at 15 s), enough for the spread of the
 * readings, and so the fit's standard error, to mean something (one reading fits exactly).
 */
export const SETTLED_READINGS = 40;

/**
 * The fleet's learned profile: the median idle CPU of the nodes that measured theirs, and the
 * dear-side cost a stream of one fit over all the nodes' readings (each above its own idle CPU),
 * once they number `SETTLED_READINGS`. Nodes of one fleet run the same image on the same instance
 * type, so a new node costs what the others cost; starting it from the configured default instead
 * gives it less room (37 streams where 47 fit at the simulator's defaults) until its own readings
 * catch up, and the scaler launches nodes for the difference. One fit, not a median of the nodes'
 * own: a node carrying a few streams measures its cost loosely (its dear side lies far above it),
 * a full one closely, and the fit weighs each by what it knows. The median idle: one odd node does
 * not set every new node's idle CPU.
 */
export function fleetProfile(nodes: readonly MediaNode[]): FleetProfile {
  const profiled = nodes.flatMap((n) => (n.cpuProfile ? [{ node: n, p: n.cpuProfile }] : []));
  const idles = profiled.flatMap(({ p }) => (p.idlePercent === undefined ? [] : [p.idlePercent]));
  const pooled = profiled
    .map(({ node, p }) => aboveIdle(p, idleCpu(node)))
    .reduce(
      (sum, own) => ({
        readings: sum.readings + own.readings,
        streamsSquared: sum.streamsSquared + own.streamsSquared,
        streamsTimesAbove: sum.streamsTimesAbove + own.streamsTimesAbove,
        aboveSquared: sum.aboveSquared + own.aboveSquared,
      }),
      { readings: 0, streamsSquared: 0, streamsTimesAbove: 0, aboveSquared: 0 },
    );
  const costPercent = pooled.readings >= SETTLED_READINGS ? dearCost(pooled, 0, 0) : undefined;
  return { idlePercent: median(idles), costPercent };
}

/**
 * A new node's profile with what the fleet has learned as its starting point: its idle CPU and its
 * fit start from the fleet's, each weighing as `SETTLED_READINGS` readings beside the few of its
 * own (which outweigh them as they come, should it differ). A node's first idle reading covers one
 * second of a noisy CPU: taken alone, a low one would open room for a stream or two too many.
 * Undefined when the node has its start already or no node's readings have settled a cost (the
 * configured default applies).
 */
export function withFleetStart(profile: CpuProfile | undefined, fleet: FleetProfile): CpuProfile | undefined {
  const { idlePercent, costPercent } = fleet;
  if (costPercent === undefined || profile?.priorCostPercent !== undefined) return undefined;
  const own = profile ?? EMPTY;
  const ownIdle = own.idlePercent === undefined ? 0 : own.idleReadings;
  const idle =
    idlePercent === undefined
      ? {}
      : {
          idlePercent:
            (idlePercent * SETTLED_READINGS + (own.idlePercent ?? 0) * ownIdle) / (SETTLED_READINGS + ownIdle),
          idleReadings: Math.min(PROFILE_READINGS, SETTLED_READINGS + ownIdle),
        };
  return { ...own, ...idle, priorCostPercent: costPercent };
}
