import type { SimResult } from "../../sim/engine";
import { buildOptions } from "../../sim/options";
import type { PackedFleet } from "../../sim/packed-fleet";
import { simulate } from "../../sim/simulate";
import { formatTrace, parseTrace, type Trace } from "../../sim/trace";

/** Cameras publishing at the given times and staying until the trace ends at 600 s. */
function cameras(times: readonly number[]): Trace {
  const rows = times.map((t, i) => ({ t, stream: `cam${i + 1}`, event: "publish" as const }));
  return parseTrace(formatTrace([...rows, { t: 600, stream: "last", event: "publish" }]), "test");
}

/** Where each camera's stream is live at the end of a run, as the registry has it (`last` only ends the trace). */
async function placements(fleet: PackedFleet): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const node of await fleet.registry.listNodes()) {
    for (const [stream, slot] of Object.entries(node.streams))
      if (slot.state === "LIVE" && stream !== "last") out[stream] = node.nodeId;
  }
  return out;
}

// Three streams a node, no CPU noise, idle nodes kept past the trace's end: the fleet rests at
// i-1 and i-2 (minNodes 1 + bufferNodes 1), and the fixed address points at i-1 when it starts.
// cam1..cam3 fill i-1 at t=0..2; cam4 arrives at t=10, while the load balancer still sends new
// cameras to i-1 (the switch to i-2, chosen at t=2, takes effect 30 s later, at t=32).
const KNOBS = { maxStreamsPerNode: 3, cpuNoisePercent: 0, scaleInIdleSeconds: 900 };
const TRACE = cameras([0, 1, 2, 10]);

async function run(
  ingest: string,
  model: Record<string, number> = {},
): Promise<{ result: SimResult; fleet: PackedFleet }> {
  const { result, driver } = await simulate(TRACE, buildOptions("packed", 1, { ...KNOBS, ...model }, ingest));
  return { result, fleet: driver as PackedFleet };
}

describe("packed with a fixed ingest address (--ingest fixed)", () => {
  it("fills in order without any resolve: cam1..cam3 on i-1, cam4 on i-2", async () => {
    const { fleet } = await run("fixed");
    expect(await placements(fleet)).toEqual({ cam1: "i-1", cam2: "i-1", cam3: "i-1", cam4: "i-2" });
  });

  it("makes cam4 wait for the switch: refused by the full i-1 at 10, 20 and 30 s, taken by i-2 at 40 s", async () => {
    const { result, fleet } = await run("fixed");
    expect(result).toMatchObject({ waitMaxSeconds: 30, waitedSessions: 1, publishDenied: 3, rejected: 0 });
    expect(result.interruptedStreams).toBe(0);
    // i-1 chosen during the warm-up, i-2 once i-1 was full, and the spare launched for it later on.
    expect(fleet.ingest?.switches).toBeGreaterThanOrEqual(2);
  });

  it.each([
    // The load balancer is on i-2 as soon as i-1 is full.
    ["an instant switch", 0, 0, { ingestSwitchSeconds: 0 }],
    // Refused at 10, 14, ... 30; taken at 34, after i-2 became the target at 32.
    ["a camera that retries every 4 s", 6, 24, { cameraRetrySeconds: 4 }],
  ])("with %s, cam4 is refused %i times and waits %i s", async (_, denied, wait, model) => {
    const { result } = await run("fixed", model);
    expect([result.publishDenied, result.waitMaxSeconds]).toEqual([denied, wait]);
  });

  it("launches for every camera of a burst refused with no room anywhere, within a retry of the first", async () => {
    // Twelve cameras within 6 s. i-1 takes three; the others are refused there while i-2 has room
    // (they do not wait) until the load balancer moves to i-2 at 32 s; i-2 takes three, and the six
    // left, refused with no room anywhere, are noted waiting and wake the scaler at 33 s and 43 s.
    const times = Array.from({ length: 12 }, (_, i) => i / 2);
    const { result, driver } = await simulate(cameras(times), buildOptions("packed", 1, KNOBS, "fixed"));
    const launched = (driver as PackedFleet).launches.filter((l) => l.t >= 0 && l.t < 60);
    // Six waiting and a node's worth of room beside them, before the next scheduled run: three nodes of three.
    expect(launched.map((l) => l.t)).toEqual([33, 33, 43]);
    expect(result).toMatchObject({ interruptedStreams: 0, rejected: 0 });
  });

  it("resolve-first (the default) places cam4 on i-2 at once: nobody waits", async () => {
    const { result, fleet } = await run("resolve");
    expect(await placements(fleet)).toEqual({ cam1: "i-1", cam2: "i-1", cam3: "i-1", cam4: "i-2" });
    expect(result).toMatchObject({ waitMaxSeconds: 0, waitedSessions: 0, publishDenied: 0 });
    expect(fleet.ingest).toBeUndefined();
  });
});
