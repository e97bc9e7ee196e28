/**
 * A node's boot, as its bootstrap reports it (`POST /nodes/boot`, media-node/bootstrap.sh), in
 * the node's name, while its instance waits in the launch lifecycle hook:
 * - progress restarts the hook's timeout, so a slow boot that moves (a slow mirror, apt's retries)
 *   is not abandoned when the timeout runs out, and the node needs no Auto Scaling permission;
 * - a failure abandons the launch at once rather than when the timeout runs out, declares the node
 *   DEAD (as its terminate hook does: its credential is void from now on), and records the stage
 *   and the reason as a fleet event for the operator.
 * Only a launch that still waits is acted on: a report from a node that is no longer PENDING (its
 * agent's ready heartbeat can overtake the bootstrap's last report) changes nothing but the record
 * of a failure.
 */
import { admittedNode, declareDead, type FleetDeps, type NodeCredential } from "./fleet";
import type { FleetEvent, MediaNode } from "./model";

/**
 * The stages bootstrap.sh reports, in boot order: its secret fetched, each attempt at installing
 * its packages, its configuration rendered, its units starting (a failure there names `units`),
 * its units started.
 */
export const BOOT_STAGES = ["secret", "packages", "config", "units", "started"] as const;
/** A stage of a node's boot. */
export type BootStage = (typeof BOOT_STAGES)[number];

/** The longest reason a failure report may carry (bootstrap.sh cuts its own to this length). */
export const MAX_BOOT_REASON_LENGTH = 500;

/** One report of a node's bootstrap. */
export interface BootReport extends NodeCredential {
  readonly stage: BootStage;
  /** Why the boot failed at `stage`; absent, the boot reached it. */
  readonly failed?: string;
}

/** What became of the node's launch: extended, abandoned, or left alone (it no longer waits). */
export type LaunchAction = "extended" | "abandoned" | "none";

/** The outcome of a boot report: the node as it now is, and what was done to its launch. */
export interface BootOutcome {
  readonly node: MediaNode;
  readonly launch: LaunchAction;
}

/** The fleet event of a failed boot. */
function bootFailed(now: number, report: BootReport, launch: LaunchAction): FleetEvent {
  const outcome = launch === "abandoned" ? "launch abandoned" : "its launch no longer waited";
  return {
    at: now,
    kind: "boot-failed",
    nodeId: report.nodeId,
    message: `node ${report.nodeId} failed to boot at ${report.stage}: ${report.failed} (${outcome})`,
  };
}

/**
 * Records a boot report (see above).
 * @throws NodeRefusedError when the node is not registered, is DEAD, or presented another secret
 */
export async function recordBootReport(deps: FleetDeps, report: BootReport): Promise<BootOutcome> {
  const node = admittedNode(await deps.registry.getNode(report.nodeId), report);
  const waits = node.state === "PENDING";
  if (report.failed === undefined) {
    if (waits) await deps.fleet.extendLaunch(node.nodeId);
    return { node, launch: waits ? "extended" : "none" };
  }
  const now = deps.now();
  // The group first: when that fails, nothing is written and the node's retry finds it all as it was.
  if (waits) {
    await deps.fleet.completeLaunch(node.nodeId, "ABANDON");
    await declareDead(deps.registry, node.nodeId, now);
  }
  const launch = waits ? "abandoned" : "none";
  await deps.registry.appendEvents([bootFailed(now, report, launch)]);
  return { node: (await deps.registry.getNode(node.nodeId)) ?? node, launch };
}
