import { fillOrderInstanceHours, neverCutInstanceHours, type SecondsSession, traceSessions } from "../../sim/never-cut";
import { buildOptions, streamsPerNodeAtThreshold } from "../../sim/options";
import { formatTrace, liveBySecond, parseTrace, type TraceEventKind } from "../../sim/trace";

const HOUR = 3600;
const hours = (sessions: [number, number][], capacity: number) =>
  neverCutInstanceHours(
    sessions.map(([start, end]) => ({ start, end })),
    capacity,
    1,
  ) * HOUR;

describe("the never-cut reference", () => {
  it.each<[string, [number, number][], number, number]>([
    // [sessions [start, end) in seconds, node capacity, node-seconds]
    ["one session: one node while it lasts", [[0, 100]], 2, 100],
    [
      "two that fit one node together",
      [
        [0, 100],
        [10, 50],
      ],
      2,
      100,
    ],
    [
      "a third that does not fit opens a node",
      [
        [0, 100],
        [10, 50],
        [20, 30],
      ],
      2,
      110,
    ],
    [
      "a node emptied and needed again counts as new",
      [
        [0, 10],
        [20, 30],
      ],
      2,
      20,
    ],
    // 30-300 finds the first node full and opens one; 50-60 then joins the node that outlasts it
    // soonest (the first, until 100) at no cost.
    [
      "a session goes where it adds no time when it can",
      [
        [0, 100],
        [0, 40],
        [30, 300],
        [50, 60],
      ],
      2,
      370,
    ],
    // The bound moves 0-100 and 10-200 onto one node at 50 (240 node-seconds); never moving a stream, both stay.
    [
      "never moving a stream costs more than the bound",
      [
        [0, 100],
        [0, 50],
        [10, 200],
      ],
      2,
      290,
    ],
    [
      "the order sessions are given in does not matter",
      [
        [10, 200],
        [0, 50],
        [0, 100],
      ],
      2,
      290,
    ],
  ])("%s", (_, sessions, capacity, nodeSeconds) => {
    expect(hours(sessions, capacity)).toBeCloseTo(nodeSeconds, 6);
  });

  it("counts sessions in the whole seconds the lower bound counts, unended ones to the trace's end", () => {
    const events: { t: number; stream: string; event: TraceEventKind }[] = [
      { t: 0.5, stream: "a", event: "publish" },
      { t: 2.2, stream: "b", event: "publish" },
      { t: 2.7, stream: "b", event: "done" }, // live at no whole second
      { t: 10.1, stream: "a", event: "done" },
      { t: 12, stream: "c", event: "publish" },
      { t: 20, stream: "d", event: "publish" },
    ];
    const trace = parseTrace(formatTrace(events), "t");
    expect(traceSessions(trace)).toEqual<SecondsSession[]>([
      { start: 1, end: 11 },
      { start: 12, end: 20 },
    ]);
  });

  it("lies between the lower bound and first fit on a generated day, with the policy's node size", () => {
    const trace = parseTrace(
      formatTrace(
        Array.from({ length: 300 }, (_, i) => [
          { t: i * 7, stream: `cam${i}`, event: "publish" as const },
          { t: i * 7 + 600 + ((i * 7919) % 5400), stream: `cam${i}`, event: "done" as const },
        ])
          .flat()
          .sort((a, b) => a.t - b.t),
      ),
      "t",
    );
    const perNode = streamsPerNodeAtThreshold(buildOptions("packed", 1));
    let bound = 0;
    for (const live of liveBySecond(trace)) bound += Math.ceil(live / perNode);
    const reference = neverCutInstanceHours(traceSessions(trace), perNode, 1) * HOUR;
    expect(reference).toBeGreaterThanOrEqual(bound);
    expect(reference).toBeLessThan(bound * 1.5);
  });
});

describe("the fill order's own cost", () => {
  const ofSessions = (sessions: [number, number][]) => sessions.map(([start, end]) => ({ start, end }));

  it.each<[string, [number, number][], number, number]>([
    // [sessions [start, end) in seconds, fill order's node-seconds, the reference's node-seconds]
    ["one session: one node while it lasts", [[0, 100]], 100, 100],
    [
      "a third that does not fit opens a node, as for the reference",
      [
        [0, 100],
        [10, 50],
        [20, 30],
      ],
      110,
      110,
    ],
    // At 10 both nodes have room: the oldest (until 1000) takes 10-150, so 20-900 must go to the
    // second and keeps it to 900; knowing the ends, the reference puts 10-150 beside 1-200 instead.
    [
      "not knowing when sessions end costs what the reference saves by knowing",
      [
        [0, 1000],
        [0, 5],
        [1, 200],
        [10, 150],
        [20, 900],
      ],
      1899,
      1199,
    ],
    // At 10 both nodes have room and neither outlasts 10-2000: it joins the oldest (until 100), which
    // then runs to 2000 beside the second (until 1000); the reference extends the second instead.
    [
      "a session that outlasts every node joins the oldest, not the one ending latest",
      [
        [0, 100],
        [0, 5],
        [1, 1000],
        [10, 2000],
      ],
      2999,
      2099,
    ],
  ])("%s", (_, sessions, fillOrder, reference) => {
    expect(fillOrderInstanceHours(ofSessions(sessions), 2) * HOUR).toBeCloseTo(fillOrder, 6);
    expect(neverCutInstanceHours(ofSessions(sessions), 2, 1) * HOUR).toBeCloseTo(reference, 6);
  });
});

describe("the lower bound's node size", () => {
  it("is what packed admits on a node it knows exactly: the stream that reaches the threshold too", () => {
    // (80 - 5) / 1.6 = 46.875: the 47th stream takes the node to 80.2%, and packed admits it.
    expect(streamsPerNodeAtThreshold(buildOptions("packed", 1))).toBe(47);
    expect(streamsPerNodeAtThreshold(buildOptions("packed", 1, { maxStreamsPerNode: 30 }))).toBe(30);
  });
});
