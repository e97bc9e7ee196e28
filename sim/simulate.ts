/** One simulation run: a trace, a policy, a seed. */
import { BaselineFleet } from "./baseline-fleet";
import { type FleetDriver, SimEngine, type SimResult } from "./engine";
import type { SimOptions } from "./options";
import { PackedFleet } from "./packed-fleet";
import type { Trace } from "./trace";

/** A run's result, with the engine and driver it used (tests look inside them). */
export interface SimRun {
  readonly result: SimResult;
  readonly driver: FleetDriver;
  readonly engine: SimEngine;
}

/**
 * Replays `trace` under `options.policy` in virtual time. The same trace, options and seed give
 * the same result.
 * @param onProgress called with the fraction of virtual time done
 */
export async function simulate(
  trace: Trace,
  options: SimOptions,
  onProgress?: (fraction: number) => void,
): Promise<SimRun> {
  const engine = new SimEngine(trace, options, onProgress);
  const driver: FleetDriver =
    options.policy === "packed" ? new PackedFleet(engine) : new BaselineFleet(engine, options.policy);
  const result = await engine.run(driver);
  return { result, driver, engine };
}
