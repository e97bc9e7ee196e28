/**
 * The baselines: what operators run today. A load balancer in front of an EC2 Auto Scaling group
 * spreads new streams over the instances in service, `round-robin` (evenly, in turn) or
 * `least-loaded` (least connections); target tracking on the group's average CPU sets the size;
 * on scale-in the default termination policy picks the instance (closest to its next billing
 * hour, then at random: one zone, one launch template), the load balancer stops sending it streams,
 * and after the deregistration delay the instance is terminated with whatever streams it still
 * carries. This models other systems, so its logic is the simulator's own, not the product's.
 */
import { RETRY_AFTER_NO_ROOM_SECONDS } from "../lambdas/core/cameras";
import type { FleetDriver, Session, SimEngine } from "./engine";
import { CPU_DATAPOINT_PERIOD_MS, type SimMachine } from "./machine";
import { baselineTarget } from "./options";
import { Random } from "./random";
import { TargetTracking } from "./target-tracking";

/** How a baseline's load balancer picks an instance for a new stream. */
export type BaselinePlacement = "round-robin" | "least-loaded";

interface Instance {
  readonly machine: SimMachine;
  /** Booting; registered with the load balancer; or deregistered and waiting to be terminated. */
  state: "booting" | "in-service" | "deregistering";
  /** Cameras sent here that have not published yet: the load balancer counts their connections. */
  connecting: number;
}

/** A load balancer and an Auto Scaling group with target tracking. */
export class BaselineFleet implements FleetDriver {
  /** Instances not yet terminated, in launch order. */
  private readonly instances = new Map<string, Instance>();
  private desired = 0;
  private launched = 0;
  private turn = 0;
  private readonly policy: TargetTracking;
  private readonly random: Random;
  /** Scaling activities, for tests: seconds from the trace's start and the new desired capacity. */
  readonly activities: { t: number; desired: number }[] = [];

  constructor(
    private readonly engine: SimEngine,
    private readonly placement: BaselinePlacement,
  ) {
    const { model, fleet } = engine.options;
    this.policy = new TargetTracking({
      targetPercent: baselineTarget(engine.options),
      minCapacity: model.baselineMinNodes,
      maxCapacity: fleet.maxNodes,
      scaleInCooldownMs: model.scaleInCooldownSeconds * 1000,
    });
    this.random = Random.derive(engine.options.seed, "termination-policy");
  }

  async start(): Promise<void> {
    const { engine } = this;
    this.setDesired(this.policy.settings.minCapacity);
    // One evaluation a minute, when the minute's datapoints become readable.
    const delayMs = engine.options.model.metricDelaySeconds * 1000;
    const firstMinuteEnd = Math.ceil((engine.now() + 1) / CPU_DATAPOINT_PERIOD_MS) * CPU_DATAPOINT_PERIOD_MS;
    engine.every(firstMinuteEnd + delayMs, CPU_DATAPOINT_PERIOD_MS, () => {
      this.evaluate(engine.now() - delayMs);
      return true;
    });
  }

  async connect(session: Session): Promise<void> {
    const { engine } = this;
    const target = this.pick();
    if (!target) {
      // No instance in service: the connection fails and the camera tries again later.
      const attempt = session.attempt;
      engine.schedule(engine.now() + RETRY_AFTER_NO_ROOM_SECONDS * 1000, async () => {
        if (session.attempt === attempt && !session.ended) await this.connect(session);
      });
      return;
    }
    engine.placed(session);
    target.connecting++;
    const attempt = session.attempt;
    engine.schedule(engine.now() + engine.options.model.connectSeconds * 1000, async () => {
      target.connecting--;
      if (session.attempt !== attempt || session.ended) return;
      if (target.state === "in-service" && target.machine.running(engine.now())) {
        engine.goLive(session, target.machine, session.stream);
      } else {
        await this.connect(session);
      }
    });
  }

  async disconnect(_session: Session): Promise<void> {
    // Nothing to tell anyone: the stream has stopped on its node.
  }

  /** The load balancer's choice among the instances in service. */
  private pick(): Instance | undefined {
    const targets = [...this.instances.values()].filter((i) => i.state === "in-service");
    if (targets.length === 0) return undefined;
    if (this.placement === "round-robin") return targets[this.turn++ % targets.length];
    const load = (i: Instance) => i.machine.streams.size + i.connecting;
    return targets.reduce((best, i) => (load(i) < load(best) ? i : best));
  }

  /** Feeds target tracking the group's average CPU of the minute that ended at `minuteEnd`. */
  private evaluate(minuteEnd: number): void {
    const { engine } = this;
    const warmupMs = engine.options.model.instanceWarmupSeconds * 1000;
    const live = [...this.instances.values()].filter((i) => i.state !== "deregistering");
    const measured = live.filter((i) => i.state === "in-service" && i.machine.readyAt + warmupMs <= minuteEnd);
    const points = measured
      .map((i) => i.machine.datapointAt(minuteEnd, engine.now())?.percent)
      .filter((p): p is number => p !== undefined);
    const metric = points.length > 0 ? points.reduce((a, b) => a + b, 0) / points.length : undefined;
    const desired = this.policy.observe(
      metric,
      { desired: this.desired, measured: points.length, warming: live.length - points.length },
      engine.now(),
    );
    if (desired !== undefined) this.setDesired(desired);
  }

  private setDesired(desired: number): void {
    const { engine } = this;
    this.desired = desired;
    this.activities.push({ t: engine.secondsOf(engine.now()), desired });
    const live = () => [...this.instances.values()].filter((i) => i.state !== "deregistering");
    while (live().length < desired) this.launch();
    const excess = live().length - desired;
    for (let k = 0; k < excess; k++) {
      const victim = this.chooseVictim(live());
      if (victim) this.scaleIn(victim);
    }
  }

  private launch(): void {
    const { engine } = this;
    const machine = engine.launchMachine(`i-${++this.launched}`);
    const instance: Instance = { machine, state: "booting", connecting: 0 };
    this.instances.set(machine.id, instance);
    // The health check passes once nginx answers: the load balancer registers the instance.
    engine.schedule(machine.readyAt, () => {
      if (instance.state === "booting") instance.state = "in-service";
    });
  }

  /** The default termination policy, in one zone with one launch template. */
  private chooseVictim(candidates: readonly Instance[]): Instance | undefined {
    const now = this.engine.now();
    const toNextHour = (i: Instance) => 3_600_000 - ((now - i.machine.launchedAt) % 3_600_000);
    const closest = Math.min(...candidates.map(toNextHour));
    const tied = candidates.filter((i) => toNextHour(i) === closest);
    return tied[this.random.int(tied.length)];
  }

  /** Deregisters the instance; it is terminated after the deregistration delay, streams and all. */
  private scaleIn(instance: Instance): void {
    const { engine } = this;
    const booting = instance.state === "booting";
    instance.state = "deregistering";
    const delayMs = booting ? 0 : engine.options.model.deregistrationDelaySeconds * 1000;
    engine.schedule(engine.now() + delayMs, () => {
      this.instances.delete(instance.machine.id);
      engine.stopMachine(instance.machine.id);
    });
  }
}
