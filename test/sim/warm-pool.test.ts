import type { SimResult } from "../../sim/engine";
import { buildOptions } from "../../sim/options";
import type { PackedFleet } from "../../sim/packed-fleet";
import { simulate } from "../../sim/simulate";
import { formatTrace, parseTrace, type TraceEventKind } from "../../sim/trace";
import { WarmPool } from "../../sim/warm-pool";

describe("the warm pool", () => {
  it.each<[string, number, number[], boolean[], number]>([
    // [pool size, launch times (s), which launches boot warm, replacements running at the last launch]
    ["an empty pool: every launch boots cold", 0, [0, 10], [false, false], 0],
    [
      "a pool of 1: the first launch is warm, the next one cold while the replacement boots",
      1,
      [0, 10],
      [true, false],
      1,
    ],
    [
      "a pool of 1 refilled: warm again once the replacement's first boot (120 s) is over",
      1,
      [0, 120],
      [true, true],
      1,
    ],
    ["a pool of 2: two warm launches at once", 2, [0, 0, 0], [true, true, false], 2],
  ])("%s", (_, size, launches, warm, refilling) => {
    const pool = new WarmPool(size);
    expect(launches.map((t) => pool.take(t * 1000, 120_000))).toEqual(warm);
    expect(pool.refilling((launches[launches.length - 1] as number) * 1000)).toBe(refilling);
  });
});

describe("packed with a warm pool", () => {
  // A cap of 3 streams and no spare: cam4 (t=3) finds i-1 full and its refusal launches i-2 at once.
  const trace = parseTrace(
    formatTrace([0, 1, 2, 3, 600].map((t, i) => ({ t, stream: `cam${i + 1}`, event: "publish" as TraceEventKind }))),
    "warm",
  );
  const run = async (warmPoolSize: number): Promise<{ result: SimResult; fleet: PackedFleet }> => {
    const options = buildOptions("packed", 1, {
      maxStreamsPerNode: 3,
      bufferNodes: 0,
      cpuNoisePercent: 0,
      warmPoolSize,
      coldBootSeconds: 120,
      warmBootSeconds: 30,
    });
    const { result, driver } = await simulate(trace, options);
    return { result, fleet: driver as PackedFleet };
  };

  it("makes the camera beyond the fleet's room wait for a warm boot instead of a cold one", async () => {
    // i-2 is ready at 3 + 30 (33) and reports at 34; cam4 retries every 15 s from 3: placed at 48.
    expect((await run(1)).result.waitMaxSeconds).toBe(45);
    // Cold: ready at 123, reports at 124; placed at 138.
    expect((await run(0)).result.waitMaxSeconds).toBe(135);
  });

  it("bills the replacement's first boot, and nothing for the stopped nodes", async () => {
    const cold = await run(0);
    const warm = await run(1);
    expect(warm.fleet.launches.map((l) => l.instanceId)).toEqual(cold.fleet.launches.map((l) => l.instanceId));
    // i-1 over the whole 600 s, i-2 from 4 (launched during second 3); the warm run adds its replacement's 120 s.
    expect(cold.result.instanceHours).toBeCloseTo((600 + 596) / 3600, 2);
    expect(warm.result.instanceHours).toBeCloseTo((600 + 596 + 120) / 3600, 2);
  });
});
