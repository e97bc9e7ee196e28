/**
 * The fixed ingest address as the simulator models it (`--ingest fixed`): cameras that cannot ask
 * first publish to one address, a load balancer whose single target the control plane points at
 * the node placement chooses now (`chooseNode`, the rule resolve reserves by). The load balancer
 * follows each choice `ingestSwitchSeconds` late: a new target takes new connections only once its
 * health checks pass, and until then they still reach the old one (or none). A camera it sends to
 * a node that refuses it (full) or that it has no target for connects again `cameraRetrySeconds`
 * later, as camera firmware does; streams already live never move.
 */
import { chooseNode } from "../lambdas/core/placement";
import type { Registry } from "../lambdas/core/registry";
import type { SimEngine } from "./engine";

export class FixedIngest {
  /** The node the control plane chose last. */
  private chosen: string | undefined;
  /** The node the load balancer sends new connections to now. */
  private current: string | undefined;
  /** How often the control plane chose another node. */
  switches = 0;

  constructor(
    private readonly engine: SimEngine,
    private readonly registry: Registry,
  ) {}

  /** Where a camera connecting now is sent; undefined: nowhere (it is refused and retries). */
  get target(): string | undefined {
    return this.current;
  }

  /** The registry changed: the control plane points the target at placement's choice, if it moved. */
  async follow(): Promise<void> {
    const { engine } = this;
    const choice = chooseNode(await this.registry.listNodes(), engine.now(), engine.options.fleet)?.nodeId;
    if (choice === this.chosen) return;
    this.chosen = choice;
    this.switches++;
    engine.schedule(engine.now() + engine.options.model.ingestSwitchSeconds * 1000, () => {
      this.current = choice;
    });
  }
}
