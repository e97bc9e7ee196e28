/**
 * The never-cut reference: what a clairvoyant policy that never moves a stream needs for a trace.
 *
 * The lower bound may move streams at will (at each second, the fewest nodes that carry the live
 * cameras). A policy that never cuts a stream cannot: a node stays until its last stream ends. The
 * reference packs the trace's sessions, knowing when each ends, onto nodes of the same capacity as
 * the policy's, never moving one; a node is paid for while it carries a stream (one emptied and
 * needed again later counts as a new one). Finding the cheapest packing is NP-hard, so this is a
 * heuristic: the best of a few greedy rules and randomized restarts of them (`REFERENCE_RESTARTS`).
 * It is an achievable cost, not a bound: an exact packing may be cheaper, never dearer.
 *
 * Sessions are taken in order of arrival; each goes to a node carrying streams with room for it at
 * its arrival (a node's load only falls after that, since every stream on it arrived earlier), the
 * one whose streams outlast it when there is one (it then costs nothing more), else the one whose
 * last stream ends latest (the least extra time); a new node only when no node has room.
 */
import { Random } from "./random";
import type { Trace } from "./trace";

/** A session in whole seconds of the trace, as the lower bound counts it: live at `start` ≤ s < `end`. */
export interface SecondsSession {
  readonly start: number;
  readonly end: number;
}

/** Randomized restarts of the greedy packing, beyond its deterministic rules. */
export const REFERENCE_RESTARTS = 8;

/** The sessions of a trace in whole seconds, in arrival order. */
export function traceSessions(trace: Trace): SecondsSession[] {
  const seconds = Math.ceil(trace.lengthSeconds);
  const started = new Map<string, number>();
  const sessions: SecondsSession[] = [];
  const close = (stream: string, end: number) => {
    const start = started.get(stream) as number;
    started.delete(stream);
    if (end > start) sessions.push({ start, end });
  };
  for (const e of trace.events) {
    const s = Math.min(seconds, Math.ceil(e.t));
    if (e.event === "publish") started.set(e.stream, s);
    else close(e.stream, s);
  }
  for (const stream of [...started.keys()]) close(stream, seconds);
  return sessions.sort(byArrival);
}

/** Arrival order, the longer session first at a tie. */
function byArrival(a: SecondsSession, b: SecondsSession): number {
  return a.start - b.start || b.end - a.end;
}

/** A node of the packing: when its streams end (ascending), and when it opened. */
interface PackedNode {
  readonly ends: number[];
  readonly opened: number;
}

/** Among the nodes with room whose streams outlast the session, the one a rule picks. */
type Pick = (outlasting: readonly PackedNode[], random: Random) => PackedNode;

const last = (node: PackedNode) => node.ends[node.ends.length - 1] as number;
const oldest = (nodes: readonly PackedNode[]) => nodes.reduce((best, n) => (n.opened < best.opened ? n : best));

const PICKS: readonly Pick[] = [
  // The one whose streams end soonest after the session: keeps late-ending nodes for late sessions.
  (nodes) => nodes.reduce((best, n) => (last(n) < last(best) ? n : best)),
  // The fullest.
  (nodes) => nodes.reduce((best, n) => (n.ends.length > best.ends.length ? n : best)),
  // The oldest (first fit).
  oldest,
];

function insertSorted(values: number[], value: number): void {
  let low = 0;
  let high = values.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((values[mid] as number) <= value) low = mid + 1;
    else high = mid;
  }
  values.splice(low, 0, value);
}

/** Where a session goes among the open nodes with room for it (undefined: a new node). */
type Place = (withRoom: readonly PackedNode[], end: number, random: Random) => PackedNode | undefined;

/** Node-seconds of one greedy packing of `sessions` on nodes of `capacity` streams. */
function pack(sessions: readonly SecondsSession[], capacity: number, place: Place, random: Random): number {
  let open: PackedNode[] = [];
  let nodeSeconds = 0;
  for (const { start, end } of sessions) {
    // Streams that ended by now leave their nodes; an emptied node is gone.
    for (const node of open) {
      let gone = 0;
      while (gone < node.ends.length && (node.ends[gone] as number) <= start) gone++;
      if (gone > 0) node.ends.splice(0, gone);
    }
    open = open.filter((n) => n.ends.length > 0);
    let node = place(
      open.filter((n) => n.ends.length < capacity),
      end,
      random,
    );
    if (node) nodeSeconds += Math.max(0, end - last(node));
    else {
      node = { ends: [], opened: start };
      open.push(node);
      nodeSeconds += end - start;
    }
    insertSorted(node.ends, end);
  }
  return nodeSeconds;
}

/** The reference's placement: a node that outlasts the session (as `pick` chooses), else the one ending latest. */
function clairvoyant(pick: Pick): Place {
  return (withRoom, end, random) => {
    const outlasting = withRoom.filter((n) => last(n) >= end);
    if (outlasting.length > 0) return pick(outlasting, random);
    if (withRoom.length === 0) return undefined;
    return withRoom.reduce((best, n) => (last(n) > last(best) ? n : best));
  };
}

/**
 * What the fill order itself costs on `sessions`, on nodes of `capacity` streams, in instance-hours:
 * each session, not knowing when any ends, to the oldest open node with room, a new node only when
 * none has room, a node paid while it carries a stream. It is `packed`'s placement with its
 * capacity known exactly, instant boots, no spare and no idle time before scale-in: what is left
 * between it and the never-cut reference is the price of placing without knowing when sessions
 * end, which no rule that keeps the fill order and never moves a stream can recover.
 */
export function fillOrderInstanceHours(sessions: readonly SecondsSession[], capacity: number): number {
  const fillOrder: Place = (withRoom) => (withRoom.length === 0 ? undefined : oldest(withRoom));
  return pack([...sessions].sort(byArrival), capacity, fillOrder, Random.derive(0, "fill-order")) / 3600;
}

/**
 * The never-cut reference's instance-hours for `sessions` on nodes of `capacity` streams: the
 * cheapest of the greedy rules and `REFERENCE_RESTARTS` restarts that pick at random among the
 * nodes that outlast a session.
 * @param seed the restarts' random choices
 */
export function neverCutInstanceHours(sessions: readonly SecondsSession[], capacity: number, seed: number): number {
  const random = Random.derive(seed, "never-cut");
  const atRandom: Pick = (nodes, r) => nodes[r.int(nodes.length)] as PackedNode;
  const runs = [...PICKS, ...Array.from({ length: REFERENCE_RESTARTS }, () => atRandom)];
  const ordered = [...sessions].sort(byArrival);
  const best = Math.min(...runs.map((pick) => pack(ordered, capacity, clairvoyant(pick), random)));
  return best / 3600;
}
