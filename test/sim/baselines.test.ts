import type { BaselineFleet } from "../../sim/baseline-fleet";
import { buildOptions } from "../../sim/options";
import { type SimRun, simulate } from "../../sim/simulate";
import { TargetTracking, type TrackedCapacity } from "../../sim/target-tracking";
import { formatTrace, parseTrace, type TraceEventKind } from "../../sim/trace";

const MIN = 60_000;

describe("TargetTracking (AWS target tracking on average CPU)", () => {
  const make = () =>
    new TargetTracking({ targetPercent: 50, minCapacity: 1, maxCapacity: 10, scaleInCooldownMs: 5 * MIN });
  const group = (desired: number, measured = desired, warming = 0): TrackedCapacity => ({ desired, measured, warming });

  it("scales out after 3 datapoints above the target, to ceil(capacity × metric / target)", () => {
    const policy = make();
    expect(policy.observe(90, group(2), 1 * MIN)).toBeUndefined();
    expect(policy.observe(90, group(2), 2 * MIN)).toBeUndefined();
    expect(policy.observe(90, group(2), 3 * MIN)).toBe(4); // ceil(2 × 90 / 50)
  });

  it("needs the 3 datapoints in a row: a missing or low one starts over", () => {
    const policy = make();
    policy.observe(90, group(2), 1 * MIN);
    policy.observe(undefined, group(2), 2 * MIN);
    policy.observe(90, group(2), 3 * MIN);
    expect(policy.observe(90, group(2), 4 * MIN)).toBeUndefined();
    expect(policy.observe(90, group(2), 5 * MIN)).toBe(4);
  });

  it("counts warming instances as capacity: no second launch for the same load", () => {
    const policy = make();
    for (let m = 1; m <= 3; m++) policy.observe(90, group(2), m * MIN);
    // Two more are warming (desired 4); the two measured ones still read 90.
    expect(policy.observe(90, group(4, 2, 2), 4 * MIN)).toBeUndefined();
  });

  it("scales in after 15 datapoints below 90% of the target, after the cooldown, with nothing warming", () => {
    const policy = make();
    for (let m = 1; m <= 14; m++) expect(policy.observe(20, group(4), m * MIN)).toBeUndefined();
    expect(policy.observe(20, group(4, 3, 1), 15 * MIN)).toBeUndefined(); // one warming
    expect(policy.observe(20, group(4), 16 * MIN)).toBe(2); // ceil(4 × 20 / 50)
    // The cooldown: no scale-in within 5 minutes of the last activity.
    expect(policy.observe(10, group(2), 17 * MIN)).toBeUndefined();
    expect(policy.observe(10, group(2), 21 * MIN)).toBe(1);
  });

  it("does not scale in between 90% of the target and the target", () => {
    const policy = make();
    for (let m = 1; m <= 20; m++) expect(policy.observe(46, group(4), m * MIN)).toBeUndefined();
  });

  it("never goes below the minimum or above the maximum", () => {
    const policy = make();
    for (let m = 1; m <= 2; m++) policy.observe(100, group(9), m * MIN);
    expect(policy.observe(100, group(9), 3 * MIN)).toBe(10); // ceil(9 × 100 / 50) = 18, capped
    const low = make();
    for (let m = 1; m <= 14; m++) low.observe(1, group(2), m * MIN);
    expect(low.observe(1, group(2), 15 * MIN)).toBe(1); // ceil(2 × 1 / 50) = 1, the minimum
  });
});

describe("baselines", () => {
  it("round-robin spreads new streams evenly; least-loaded evens the connections", async () => {
    // The group rests at 1 node; 40 cameras at once overload it until target tracking adds nodes.
    const rows: [number, string, TraceEventKind][] = [];
    for (let i = 0; i < 40; i++) rows.push([i, `a${i}`, "publish"]);
    for (let i = 0; i < 20; i++) rows.push([1200 + i, `b${i}`, "publish"]);
    const trace = parseTrace(formatTrace(rows.map(([t, stream, event]) => ({ t, stream, event }))), "test");
    const rr = await simulate(trace, buildOptions("round-robin", 1, { cpuNoisePercent: 0 }));
    const ll = await simulate(trace, buildOptions("least-loaded", 1, { cpuNoisePercent: 0 }));
    // All of the first 40 land on the only node: 5 + 40 × 1.6 = 69% > 50% and > 60%.
    for (const run of [rr, ll]) {
      expect(run.result.series.cpu[0]?.values[1]).toBeCloseTo(69, 0);
      expect(run.result.peakNodes).toBeGreaterThan(1);
    }
    // The later 20: round-robin deals them out in turn, least-loaded sends them to the emptier nodes.
    const streamsOf = (run: SimRun) =>
      [...run.engine.machines.values()].map((m) => [...m.streams.keys()].filter((s) => s.startsWith("b")).length);
    const rrSpread = streamsOf(rr);
    expect(Math.max(...rrSpread) - Math.min(...rrSpread)).toBeLessThanOrEqual(1);
    const llSpread = streamsOf(ll);
    expect(llSpread[0]).toBe(0); // the node holding the first 40 gets none of them
  });

  it("counts the streams a scale-in cuts", async () => {
    // 40 cameras on one node push the group to 2; 30 leave, the load falls below 45% for 15 minutes,
    // and the default termination policy picks the older instance (closest to its billing hour),
    // which still carries 10 streams when the deregistration delay ends.
    const rows: [number, string, TraceEventKind][] = [];
    for (let i = 0; i < 40; i++) rows.push([i, `cam${i}`, "publish"]);
    for (let i = 0; i < 30; i++) rows.push([1800, `cam${i}`, "done"]);
    rows.push([4000, "end", "publish"]);
    const trace = parseTrace(formatTrace(rows.map(([t, stream, event]) => ({ t, stream, event }))), "test");
    const { result, driver } = await simulate(trace, buildOptions("round-robin", 1, { cpuNoisePercent: 0 }));
    const activities = (driver as BaselineFleet).activities.map((a) => a.desired);
    expect(activities).toEqual([1, 2, 1]);
    expect(result.interruptedStreams).toBe(10);
  });
});
