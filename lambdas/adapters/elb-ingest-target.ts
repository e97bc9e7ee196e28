/**
 * The fixed ingest address on AWS: a Network Load Balancer whose target group holds one instance.
 * Make before break: a move registers the new node and returns; the others are deregistered by a
 * later call, once the new node passes its health checks, so that the address never leads nowhere
 * while a node registers. Meanwhile some cameras reach the old node and are refused there by
 * `on_publish` (it is full, or no longer first): their retry comes back through the address.
 * Calls: one DescribeTargetHealth when nothing changes, plus RegisterTargets or DeregisterTargets.
 */
import {
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { IngestTarget } from "../core/ports";

/** An `IngestTarget` over an instance target group. */
export class ElbIngestTarget implements IngestTarget {
  constructor(
    private readonly elb: ElasticLoadBalancingV2Client,
    private readonly targetGroupArn: string,
  ) {}

  async hold(nodeId: string): Promise<void> {
    const TargetGroupArn = this.targetGroupArn;
    const health = await this.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn }));
    // A draining target is already on its way out, its established connections kept.
    const held = (health.TargetHealthDescriptions ?? []).filter((target) => target.TargetHealth?.State !== "draining");
    const wanted = held.find((target) => target.Target?.Id === nodeId);
    if (!wanted) {
      await this.elb.send(new RegisterTargetsCommand({ TargetGroupArn, Targets: [{ Id: nodeId }] }));
      return;
    }
    if (wanted.TargetHealth?.State !== "healthy") return;
    const others = held.flatMap((target) =>
      target.Target?.Id && target.Target.Id !== nodeId ? [target.Target.Id] : [],
    );
    if (others.length > 0) {
      await this.elb.send(new DeregisterTargetsCommand({ TargetGroupArn, Targets: others.map((Id) => ({ Id })) }));
    }
  }
}
