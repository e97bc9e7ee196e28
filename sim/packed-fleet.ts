/**
 * Our policy, `packed`, driven by the real control plane: a `FleetHarness` over a `MemoryRegistry`
 * and an in-process group, whose cameras, node agents and scaler call the core as the Lambdas do.
 * What is the simulator's own is only virtual time: when each camera arrives, connects and
 * retries, when agents report, and the scaler's schedule; the scaler also runs at once when a
 * resolve finds no room, through the same debounced scale-out request as the resolve Lambda.
 * Nothing here decides where a camera goes or how many nodes run: `lambdas/core` does. A node's
 * CPU reaches the core only through its simulated agent's heartbeats, as on AWS. With
 * `--ingest fixed`, cameras skip resolve and publish to a fixed address (`FixedIngest`), which
 * follows the registry after each change the fleet makes to it.
 */
import { MemoryRegistry } from "../lambdas/adapters/memory-registry";
import type { ProcessGroup } from "../lambdas/adapters/process-group";
import { DebouncedScaleOut, SCALE_OUT_DEBOUNCE_MS } from "../lambdas/adapters/scale-out";
import { RETRY_AFTER_CONTENDED_SECONDS, RETRY_AFTER_NO_ROOM_SECONDS } from "../lambdas/core/cameras";
import type { FleetEvent, MediaNode } from "../lambdas/core/model";
import type { FleetDriver, Session, SimEngine } from "./engine";
import { FixedIngest } from "./fixed-ingest";
import { FleetHarness, inProcessGroup, nodeServices } from "./fleet-harness";
import type { SimMachine } from "./machine";

/** A launch, with the registry as it was when the group launched the instance. */
export interface LaunchRecord {
  /** Seconds from the trace's start. */
  readonly t: number;
  readonly instanceId: string;
  readonly nodesBefore: readonly MediaNode[];
}

/** The packed policy over the real control plane code. */
export class PackedFleet implements FleetDriver {
  readonly registry = new MemoryRegistry();
  readonly group: ProcessGroup;
  /** Every launch, for tests and the curious. */
  readonly launches: LaunchRecord[] = [];
  /** Scaler runs: scheduled, and requested by a resolve that found no room. */
  readonly scalerRuns = { scheduled: 0, requested: 0 };
  /** Every event the scaler recorded, in order. */
  readonly events: FleetEvent[] = [];
  /** The fixed ingest address cameras publish to, with `--ingest fixed`. */
  readonly ingest: FixedIngest | undefined;
  private readonly harness: FleetHarness;

  constructor(private readonly engine: SimEngine) {
    const config = engine.options.fleet;
    const now = engine.now;
    const registry = this.registry;
    const services = nodeServices("sim");
    this.ingest = engine.options.ingest === "fixed" ? new FixedIngest(engine, registry) : undefined;
    this.group = inProcessGroup(
      registry,
      {
        min: config.minNodes,
        max: config.maxNodes,
        desired: config.minNodes,
        idPrefix: "i-",
        now,
        launcher: {
          start: async (instanceId) => {
            this.launches.push({
              t: engine.secondsOf(now()),
              instanceId,
              nodesBefore: (await registry.listNodes()).filter((n) => n.nodeId !== instanceId),
            });
            this.startAgent(engine.launchMachine(instanceId));
          },
          stop: async (instanceId) => engine.stopMachine(instanceId),
        },
      },
      services,
    );
    // As the resolve Lambda does: a burst of refusals wakes the scaler once per interval.
    const scaleOut = new DebouncedScaleOut(
      async () => {
        this.engine.schedule(now(), () => this.runScaler("requested"));
      },
      SCALE_OUT_DEBOUNCE_MS,
      now,
    );
    this.harness = new FleetHarness({
      registry,
      fleet: this.group,
      config,
      now,
      owner: "sim-scaler",
      scaleOut,
      ...services,
    });
  }

  async start(): Promise<void> {
    await this.group.converge();
    this.engine.every(this.engine.now(), this.engine.options.model.scalerSeconds * 1000, async () => {
      await this.runScaler("scheduled");
      return true;
    });
  }

  async connect(session: Session): Promise<void> {
    const { engine, ingest } = this;
    const attempt = session.attempt;
    if (ingest) {
      // Straight to the load balancer, whose target's nginx asks the control plane (on_publish).
      await this.publish(session, attempt, ingest.target, engine.options.model.cameraRetrySeconds);
      return;
    }
    const outcome = await this.harness.place(session.stream);
    if (outcome.kind === "placed") {
      engine.placed(session);
      const nodeId = outcome.stream.nodeId;
      engine.schedule(engine.now() + engine.options.model.connectSeconds * 1000, () =>
        this.publish(session, attempt, nodeId, RETRY_AFTER_CONTENDED_SECONDS),
      );
      return;
    }
    const retryAfter = outcome.kind === "no_room" ? RETRY_AFTER_NO_ROOM_SECONDS : RETRY_AFTER_CONTENDED_SECONDS;
    this.retry(session, attempt, retryAfter);
  }

  async disconnect(session: Session): Promise<void> {
    // A camera still waiting or connecting leaves nothing but a reservation, which expires.
    if (!session.machine || session.clientId === undefined) return;
    await this.harness.done({ nodeId: session.machine.id, stream: session.stream, clientId: session.clientId });
    await this.ingest?.follow();
  }

  /**
   * The camera's publish reaches nginx on `nodeId` (the node it was given, or the fixed address's
   * target), which asks the control plane (on_publish); refused, or with no node to reach, the
   * camera tries again `retrySeconds` later.
   */
  private async publish(session: Session, attempt: number, nodeId: string | undefined, retrySeconds: number) {
    if (session.attempt !== attempt || session.ended) return;
    const machine = nodeId === undefined ? undefined : this.engine.machines.get(nodeId);
    if (!machine?.running(this.engine.now())) {
      this.retry(session, attempt, retrySeconds);
      return;
    }
    const clientId = this.harness.nextClientId();
    const outcome = await this.harness.publish(machine.id, session.stream, clientId);
    if (outcome.kind === "allowed") {
      // A resolved camera's wait ended at its reservation; an unresolved one's ends here.
      this.engine.placed(session);
      this.engine.goLive(session, machine, clientId);
      await this.ingest?.follow();
      return;
    }
    this.engine.publishDenied++;
    this.retry(session, attempt, retrySeconds);
  }

  private retry(session: Session, attempt: number, afterSeconds: number): void {
    this.engine.schedule(this.engine.now() + afterSeconds * 1000, async () => {
      if (session.attempt === attempt && !session.ended) await this.connect(session);
    });
  }

  /** The node's agent: once booted, a heartbeat every period with the CPU since the last one. */
  private startAgent(machine: SimMachine): void {
    const { engine } = this;
    // The agent measures a first CPU interval of one second before its first report.
    engine.every(machine.readyAt + 1000, engine.options.fleet.heartbeatSeconds * 1000, async () => {
      if (machine.stoppedAt !== undefined) return false;
      await this.harness.heartbeat(machine.id, {
        ...machine.readAgent(),
        streams: [...machine.streams].map(([name, clientId]) => ({ name, clientId })),
      });
      await this.ingest?.follow();
      return true;
    });
  }

  private async runScaler(reason: "scheduled" | "requested"): Promise<void> {
    this.scalerRuns[reason]++;
    // The group abandons launches stuck past their hook's timeout.
    await this.group.tick();
    const report = await this.harness.tick();
    this.events.push(...report.events);
    await this.ingest?.follow();
  }
}
