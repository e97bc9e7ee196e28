import { readFileSync } from "node:fs";
import path from "node:path";
import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import { BOOT_STAGES, type BootReport, MAX_BOOT_REASON_LENGTH, recordBootReport } from "../../lambdas/core/boot";
import { NodeRefusedError } from "../../lambdas/core/fleet";
import type { NodeState } from "../../lambdas/core/model";
import { makeGroup, TestClock, testNodeSecret } from "../support/builders";

/** One node i-1 in an in-process group, in `state`; the group's lifecycle actions recorded, not carried out. */
async function oneNode(state: NodeState) {
  const registry = new MemoryRegistry();
  const clock = new TestClock();
  const { group, services } = makeGroup(registry, clock, { desired: 1 });
  await group.converge();
  if (state !== "PENDING") await registry.applyChange({ nodeId: "i-1", when: {}, set: { state } });
  const calls: string[] = [];
  group.extendLaunch = async (id) => void calls.push(`extend ${id}`);
  group.completeLaunch = async (id, result) => void calls.push(`${result} ${id}`);
  clock.advance(30);
  const deps = { registry, fleet: group, now: clock.now };
  return { registry, group, clock, deps, calls, services };
}

const asNode = (nodeId: string, secret = testNodeSecret(nodeId)) => ({ nodeId, secret });
const progress = (stage: BootReport["stage"]): BootReport => ({ ...asNode("i-1"), stage });
const failure = (stage: BootReport["stage"], failed: string): BootReport => ({ ...asNode("i-1"), stage, failed });

describe("recordBootReport", () => {
  it.each<[string, NodeState, BootReport, string[], NodeState, string]>([
    ["progress extends a launch that waits", "PENDING", progress("packages"), ["extend i-1"], "PENDING", "extended"],
    ["each stage extends it", "PENDING", progress("started"), ["extend i-1"], "PENDING", "extended"],
    [
      "progress after the agent's ready heartbeat changes nothing (no launch waits)",
      "ACTIVE",
      progress("started"),
      [],
      "ACTIVE",
      "none",
    ],
    [
      "a failure abandons the launch and declares the node DEAD",
      "PENDING",
      failure("packages", "apt-get failed 3 times: E: Unable to locate package x"),
      ["ABANDON i-1"],
      "DEAD",
      "abandoned",
    ],
    [
      "a failure from a node no longer PENDING abandons nothing",
      "ACTIVE",
      failure("units", "line 9: systemctl enable --now"),
      [],
      "ACTIVE",
      "none",
    ],
  ])("%s", async (_, state, report, expectedCalls, expectedState, launch) => {
    const { registry, deps, calls } = await oneNode(state);
    const outcome = await recordBootReport(deps, report);
    expect(calls).toEqual(expectedCalls);
    expect(outcome).toMatchObject({ launch, node: { nodeId: "i-1", state: expectedState } });
    expect((await registry.getNode("i-1"))?.state).toBe(expectedState);
  });

  it("records a failure as a fleet event naming the stage and the reason; progress records none", async () => {
    const { registry, deps, clock } = await oneNode("PENDING");
    await recordBootReport(deps, progress("secret"));
    expect(await registry.recentEvents(10)).not.toContainEqual(expect.objectContaining({ kind: "boot-failed" }));
    await recordBootReport(deps, failure("config", "line 302: render_node"));
    expect((await registry.recentEvents(1))[0]).toEqual({
      at: clock.ms,
      kind: "boot-failed",
      nodeId: "i-1",
      message: "node i-1 failed to boot at config: line 302: render_node (launch abandoned)",
    });
  });

  it.each<[string, NodeState, { nodeId: string; secret: string }]>([
    ["an unknown node", "PENDING", asNode("i-unknown")],
    ["a DEAD node", "DEAD", asNode("i-1")],
    ["another node's secret", "PENDING", asNode("i-1", testNodeSecret("i-2"))],
  ])("refuses %s: nothing extended, abandoned or recorded", async (_, state, credential) => {
    const { registry, deps, calls } = await oneNode(state);
    const events = await registry.recentEvents(10);
    for (const report of [
      { ...credential, stage: "packages" as const },
      { ...credential, stage: "units" as const, failed: "x" },
    ]) {
      await expect(recordBootReport(deps, report)).rejects.toThrow(NodeRefusedError);
    }
    expect(calls).toEqual([]);
    expect(await registry.recentEvents(10)).toEqual(events);
    expect((await registry.getNode("i-1"))?.state).toBe(state);
  });
});

describe("a boot in the in-process group (local mode's, the simulator's)", () => {
  it("progress restarts the launch hook's timeout: a slow boot that moves is not abandoned, one that stops is", async () => {
    const registry = new MemoryRegistry();
    const clock = new TestClock();
    const { group } = makeGroup(registry, clock, { desired: 1 });
    await group.converge();
    const deps = { registry, fleet: group, now: clock.now };
    clock.advance(500);
    await recordBootReport(deps, progress("packages"));
    clock.advance(500); // 1000 s after launch, 500 s after the report: within the hook's 600 s
    await group.tick();
    expect(group.list()[0]).toMatchObject({ instanceId: "i-1", lifecycleState: "Pending:Wait" });
    clock.advance(101);
    await group.tick();
    expect((await registry.getNode("i-1"))?.state).toBe("DEAD");
  });

  it("a failure lets the instance go at once, its node DEAD and its secret withdrawn", async () => {
    const registry = new MemoryRegistry();
    const clock = new TestClock();
    const { group, launcher, services } = makeGroup(registry, clock, { desired: 1 });
    await group.converge();
    const revoked: string[] = [];
    const revoke = services.credentials.revoke.bind(services.credentials);
    services.credentials.revoke = async (id) => {
      revoked.push(id);
      await revoke(id);
    };
    await recordBootReport({ registry, fleet: group, now: clock.now }, failure("packages", "no mirror"));
    expect(launcher.stopped).toEqual(["i-1"]);
    expect((await registry.getNode("i-1"))?.state).toBe("DEAD");
    expect(revoked).toEqual(["i-1"]);
  });
});

describe("media-node/bootstrap.sh and the route", () => {
  const bootstrap = readFileSync(path.resolve(__dirname, "../../media-node/bootstrap.sh"), "utf8");
  // Stages are reported once the secret is known: what bootstrap.sh names from there on.
  const reporting = bootstrap.slice(bootstrap.indexOf("node_secret=$secret"));

  it("reports only stages the route accepts", () => {
    const named = [...reporting.matchAll(/^\s*(?:stage=(\w+)|report (\w+))/gm)].map(([, a, b]) => a ?? b);
    expect(named.length).toBeGreaterThanOrEqual(4);
    expect(named.filter((stage) => !(BOOT_STAGES as readonly string[]).includes(stage as string))).toEqual([]);
  });

  it("cuts a failure's reason to the length the route accepts", () => {
    expect(bootstrap).toContain(`[:${MAX_BOOT_REASON_LENGTH}]`);
  });
});
