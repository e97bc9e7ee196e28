/**
 * The fault-injection suite: each fault a named test that fails if the behaviour regresses.
 * docs/RELIABILITY.md lists them with the behaviour expected. Faults of AWS services are injected
 * into real SDK clients (talking to moto) through a middleware; the rest go through the same
 * core functions and handlers the Lambdas and local mode run.
 */
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { AsgFleet } from "../../lambdas/adapters/asg-fleet";
import { DynamoRegistry } from "../../lambdas/adapters/dynamo-registry";
import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import { nodeItemKey } from "../../lambdas/contract";
import { DEAD_AFTER_HEARTBEATS } from "../../lambdas/core/config";
import { cameraKey } from "../../lambdas/core/credentials";
import { recordHeartbeat } from "../../lambdas/core/heartbeat";
import { heldStreams } from "../../lambdas/core/model";
import type { TickReport } from "../../lambdas/core/scaler-run";
import { endStream, publishStream, resolveStream } from "../../lambdas/core/streams";
import { createDoneHandler, createPublishHandler } from "../../lambdas/handlers/hooks";
import { createResolveHandler } from "../../lambdas/handlers/resolve";
import { FleetHarness } from "../../sim/fleet-harness";
import {
  CONTEXT,
  callbackBody,
  dynamoItem,
  httpEvent,
  makeConfig,
  makeDeps,
  makeGroup,
  makeNode,
  nodeHeaders,
  RecordingScaleOut,
  SECRETS,
  T0,
  TestClock,
  testNodeSecret,
} from "../support/builders";
import { useMoto } from "../support/moto";
import { motoFleet } from "../support/moto-fleet";
import { freshDynamoRegistry } from "../support/registry-table";

useMoto();

/** A throttling error as the SDK surfaces it (the standard retry strategy retries these). */
function awsError(name: string): Error {
  return Object.assign(new Error(`${name} (injected)`), {
    name,
    $fault: "server",
    $metadata: { httpStatusCode: 400 },
    $retryable: { throttling: true },
  });
}

/**
 * Injects faults into an SDK client: `plan(commandName, attempt)` says, for each HTTP attempt,
 * whether to fail before sending, after the service applied the request (the answer is lost), or not.
 */
function injectFaults(
  client: { middlewareStack: { add: (mw: unknown, options: Record<string, unknown>) => void } },
  plan: (command: string, attempt: number) => "before" | "lost-answer" | undefined,
  error: () => Error,
): Map<string, number> {
  const attempts = new Map<string, number>();
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      const command = context.commandName ?? "";
      const attempt = (attempts.get(command) ?? 0) + 1;
      attempts.set(command, attempt);
      const fault = plan(command, attempt);
      if (fault === "before") throw error();
      const result = await next(args);
      if (fault === "lost-answer") throw error();
      return result;
    },
    { step: "finalizeRequest", priority: "low", name: "faultInjection" },
  );
  return attempts;
}

/** An in-process fleet over a memory registry and an in-process group. */
function inProcessFleet(owner: string) {
  const registry = new MemoryRegistry();
  const clock = new TestClock();
  const { group, launcher, services } = makeGroup(registry, clock);
  const config = makeConfig();
  const harness = new FleetHarness({
    registry,
    fleet: group,
    config,
    now: clock.now,
    owner,
    scaleOut: new RecordingScaleOut(),
    ...services,
  });
  return { registry, clock, config, group, launcher, harness };
}

/** An in-process fleet of two ready nodes (minNodes 1 + bufferNodes 1), one camera live on i-1. */
async function twoNodesOneCamera() {
  const fleet = inProcessFleet("faults");
  await fleet.harness.tick();
  for (const id of ["i-1", "i-2"]) await fleet.harness.heartbeat(id, { streams: [] });
  await fleet.harness.publish("i-1", "cam", "1");
  return fleet;
}

describe("faults", () => {
  it("F1 duplicate on_publish and on_done: one slot, removed once", async () => {
    const registry = new MemoryRegistry();
    await registry.createNode(makeNode({ nodeId: "n1" }));
    const deps = makeDeps(registry, { cameraKeys: false });
    const publish = createPublishHandler(deps);
    const done = createDoneHandler(deps);
    const post = (path: string, body: string) => httpEvent({ method: "POST", path, body, headers: nodeHeaders("n1") });
    const pub = callbackBody({ call: "publish", name: "cam", clientid: "7" });
    const fin = callbackBody({ call: "publish_done", name: "cam", clientid: "7" });
    for (let i = 0; i < 3; i++) expect((await publish(post("/hooks/publish", pub), CONTEXT)).statusCode).toBe(200);
    expect(Object.keys((await registry.getNode("n1"))?.streams ?? {})).toEqual(["cam"]);
    for (let i = 0; i < 3; i++) expect((await done(post("/hooks/done", fin), CONTEXT)).statusCode).toBe(200);
    expect((await registry.getNode("n1"))?.streams).toEqual({});
  });

  it("F2 done before publish: the late publish is refused, nothing stays registered", async () => {
    const registry = new MemoryRegistry();
    await registry.createNode(makeNode({ nodeId: "n1" }));
    const deps = { registry, config: makeConfig(), now: () => T0 };
    await endStream(deps, { nodeId: "n1", secret: testNodeSecret("n1"), stream: "cam", clientId: "7" });
    expect(
      await publishStream(deps, { nodeId: "n1", secret: testNodeSecret("n1"), stream: "cam", clientId: "7" }),
    ).toEqual({
      kind: "denied",
      reason: "already_ended",
    });
    expect((await registry.getNode("n1"))?.streams).toEqual({});
  });

  it("F3 a node that dies without any done: DEAD after 4 silent heartbeat periods, its streams removed", async () => {
    const { registry, clock, config, harness } = await twoNodesOneCamera();
    harness.machines.crash("i-1"); // the machine is gone, as EC2 or its missing traffic tells
    clock.advance(DEAD_AFTER_HEARTBEATS * config.heartbeatSeconds);
    await harness.heartbeat("i-2", { streams: [] });
    expect((await harness.tick()).plan?.markDead).toEqual([]); // exactly 4 periods: not yet
    clock.advance(1);
    expect((await harness.tick()).plan?.markDead).toEqual(["i-1"]);
    expect(await registry.getNode("i-1")).toMatchObject({ state: "DEAD", streams: {} });
  });

  describe("F4 DynamoDB throttling and transient errors", () => {
    async function setup(
      plan: Parameters<typeof injectFaults>[1],
      errorName = "ProvisionedThroughputExceededException",
    ) {
      const { tableName } = await freshDynamoRegistry("faults");
      const raw = new DynamoDBClient({ maxAttempts: 3 });
      const attempts = injectFaults(raw as never, plan, () => awsError(errorName));
      const registry = new DynamoRegistry(raw, tableName);
      // Seeding goes through a clean client: only the requests under test meet the faults.
      const seed = new DynamoRegistry(new DynamoDBClient({}), tableName);
      await seed.createNode(makeNode({ nodeId: "n1" }));
      attempts.clear();
      return { registry, seed, attempts };
    }

    it("F4a throttled twice then served: the SDK's bounded retries place the camera once", async () => {
      const { registry, seed, attempts } = await setup((command, attempt) =>
        command === "UpdateItemCommand" && attempt <= 2 ? "before" : undefined,
      );
      const outcome = await resolveStream({ registry, config: makeConfig(), now: () => T0 }, "cam");
      expect(outcome).toMatchObject({ kind: "placed", created: true });
      expect(attempts.get("UpdateItemCommand")).toBe(3);
      expect(Object.keys((await seed.getNode("n1"))?.streams ?? {})).toEqual(["cam"]);
    });

    it("F4b throttled beyond the retries: a 503 with Retry-After, nothing written", async () => {
      const { registry, seed, attempts } = await setup((command) =>
        command === "UpdateItemCommand" ? "before" : undefined,
      );
      const deps = makeDeps(registry, { cameraKeys: false });
      const result = await createResolveHandler(deps)(httpEvent({ path: "/resolve", query: "stream=cam" }), CONTEXT);
      expect(result.statusCode).toBe(503);
      expect(result.headers["retry-after"]).toBe("2");
      expect(attempts.get("UpdateItemCommand")).toBe(3); // bounded: the client's maxAttempts
      expect((await seed.getNode("n1"))?.streams).toEqual({});
    });

    it("F4c the write succeeded but its answer was lost: the retry finds the slot taken, nothing is doubled", async () => {
      const { registry, seed, attempts } = await setup(
        (command, attempt) => (command === "UpdateItemCommand" && attempt === 1 ? "lost-answer" : undefined),
        "TimeoutError",
      );
      const outcome = await resolveStream({ registry, config: makeConfig(), now: () => T0 }, "cam");
      // The SDK retried the conditional write, which now fails its condition; resolve reads again
      // and finds the camera's own reservation.
      expect(outcome).toMatchObject({ kind: "placed", stream: { nodeId: "n1", state: "RESERVED" } });
      expect(attempts.get("UpdateItemCommand")).toBe(2);
      const node = await seed.getNode("n1");
      expect(Object.keys(node?.streams ?? {})).toEqual(["cam"]);
    });

    it("F4d a publish whose answer was lost counts the stream once", async () => {
      const { registry, seed } = await setup(
        (command, attempt) => (command === "UpdateItemCommand" && attempt === 1 ? "lost-answer" : undefined),
        "TimeoutError",
      );
      const outcome = await publishStream(
        { registry, config: makeConfig(), now: () => T0 },
        { nodeId: "n1", secret: testNodeSecret("n1"), stream: "cam", clientId: "4" },
      );
      expect(outcome.kind).toBe("allowed");
      expect((await seed.getNode("n1"))?.streams).toEqual({
        cam: expect.objectContaining({ state: "LIVE", clientId: "4" }),
      });
    });
  });

  it("F5 Auto Scaling throttled during a scale-in: the node waits DRAINING, the next run terminates it, no stream is touched", async () => {
    const config = makeConfig({ maxStreamsPerNode: 2, scaleInIdleSeconds: 60 });
    const fleet = await motoFleet(config);
    await fleet.tick();
    await fleet.heartbeats();
    for (const cam of ["c1", "c2", "c3"]) await fleet.camera(cam);
    await fleet.tick();
    fleet.clock.advance(20);
    await fleet.heartbeats();
    await fleet.stop("c3");
    fleet.clock.advance(61);
    await fleet.heartbeats();
    const asg = new AutoScalingClient({});
    injectFaults(
      asg as never,
      (command) => (command === "TerminateInstanceInAutoScalingGroupCommand" ? "before" : undefined),
      () => awsError("Throttling"),
    );
    const throttledFleet = new AsgFleet(asg, {
      groupName: fleet.groupName,
      launchHookName: "l",
      terminateHookName: "t",
    });
    const first = await fleet.tick({ fleet: throttledFleet });
    const drained = first.plan?.drain[0] as string;
    expect(drained).toBeDefined();
    expect(first.events).toContainEqual(expect.objectContaining({ kind: "error", nodeId: drained }));
    expect((await fleet.registry.getNode(drained))?.state).toBe("DRAINING");
    expect((await fleet.instances()).instances.map((i) => i.InstanceId)).toContain(drained);
    const carrying = [...(await fleet.carrying()).keys()];
    const second = await fleet.tick();
    expect(second.plan?.terminate).toContain(drained);
    expect((await fleet.instances()).instances.map((i) => i.InstanceId)).not.toContain(drained);
    for (const id of carrying) expect((await fleet.instances()).instances.map((i) => i.InstanceId)).toContain(id);
  });

  it.each([
    ["a full node (its worker at 85%) reading 43% stays full: the next camera goes to the next node", 85, 43, false],
    ["a node with room (its worker at 30%) reading 90% keeps it: the next camera goes to it", 30, 90, true],
  ])(
    "F6 the instance's CloudWatch CPU, newer than its agent's, is not the node's CPU: %s",
    async (_, worker, instance, same) => {
      const fleet = await motoFleet(makeConfig({ bufferNodes: 1, minNodes: 1, maxNodes: 6 }));
      await fleet.tick();
      await fleet.heartbeats();
      const filling = await fleet.camera("c1");
      fleet.clock.advance(120);
      await fleet.heartbeats((nodeId) => (nodeId === filling ? worker : 3));
      const agents = (await fleet.registry.getNode(filling))?.cpu;
      // The agent's next heartbeat is late; meanwhile the instance's CloudWatch minute ends, newer than it.
      fleet.clock.advance(30);
      await fleet.instanceCpu(filling, instance);
      await fleet.tick();
      expect((await fleet.registry.getNode(filling))?.cpu).toEqual(agents);
      expect((await fleet.camera("c2")) === filling).toBe(same);
    },
  );

  it("F7 two scalers at once: one acts, the other changes nothing", async () => {
    const fleet = await motoFleet(makeConfig());
    const [a, b] = await Promise.all([fleet.tick({ owner: "a" }), fleet.tick({ owner: "b" })]);
    expect([a.ran, b.ran].filter(Boolean)).toHaveLength(1);
    expect((await fleet.instances()).desired).toBe(2);
  });

  it("F8 a launch lifecycle hook that times out: the instance is abandoned, its node DEAD, a replacement launched", async () => {
    const { registry, clock, group, launcher, harness } = inProcessFleet("f8");
    await harness.tick();
    // i-1 boots; i-2's agent never reports ready.
    await harness.heartbeat("i-1", { streams: [] });
    clock.advance(601);
    await group.tick(); // the hook's heartbeat timeout (600 s) passes: ABANDON
    expect(launcher.stopped).toEqual(["i-2"]);
    expect(await registry.getNode("i-2")).toMatchObject({ state: "DEAD" });
    await harness.heartbeat("i-1", { streams: [] });
    await harness.tick();
    expect((await group.describe()).instances.map((i) => i.instanceId)).toEqual(["i-1", "i-3"]);
  });

  it("F9 a stale reservation: ignored for room, swept by the scaler, still honoured if its camera publishes", async () => {
    const registry = new MemoryRegistry();
    await registry.createNode(makeNode({ nodeId: "n1" }));
    const clock = new TestClock();
    const config = makeConfig({ maxStreamsPerNode: 1 });
    const deps = { registry, config, now: clock.now };
    await resolveStream(deps, "late");
    clock.advance(config.reservationTtlSeconds + 1);
    const node = (await registry.getNode("n1")) as never;
    expect(heldStreams(node, clock.ms)).toEqual([]); // no longer holds room
    // The late camera publishes after all: its slot was still there, so it is taken without a new one.
    expect(
      await publishStream(deps, { nodeId: "n1", secret: testNodeSecret("n1"), stream: "late", clientId: "1" }),
    ).toMatchObject({
      kind: "allowed",
    });
    expect(Object.keys((await registry.getNode("n1"))?.streams ?? {})).toEqual(["late"]);
  });

  it("F10 clock skew: node clocks are never read, and Lambdas a few seconds apart agree on reservations", async () => {
    const registry = new MemoryRegistry();
    await registry.createNode(makeNode({ nodeId: "n1" }));
    const config = makeConfig();
    // The resolve Lambda's clock runs 5 s fast, the publish Lambda's 5 s slow.
    await resolveStream({ registry, config, now: () => T0 + 5000 }, "cam");
    expect(
      await publishStream(
        { registry, config, now: () => T0 - 5000 },
        { nodeId: "n1", secret: testNodeSecret("n1"), stream: "cam", clientId: "1" },
      ),
    ).toMatchObject({
      kind: "allowed",
    });
    // A node whose clock is a day off: its heartbeat carries no time of its own, the registry uses the control plane's.
    const deps = makeDeps(registry);
    const handler = (await import("../../lambdas/handlers/heartbeat")).createHeartbeatHandler(deps);
    const body = JSON.stringify({
      rtmpBaseUrl: "rtmp://n1/live",
      ready: true,
      streams: [],
      sentAt: "2030-01-01T00:00:00Z",
    });
    const result = await handler(
      httpEvent({
        method: "POST",
        path: "/nodes/heartbeat",
        body,
        headers: { ...nodeHeaders("n1"), "content-type": "application/json" },
      }),
      CONTEXT,
    );
    expect(result.statusCode).toBe(200);
    expect((await registry.getNode("n1"))?.lastHeartbeatAt).toBe(T0);
  });

  it("F11 the registry drifts from rtmp_stat: a ghost stream leaves after the grace period, a missing one is added", async () => {
    const registry = new MemoryRegistry();
    const clock = new TestClock();
    const config = makeConfig();
    await registry.createNode(
      makeNode({ nodeId: "n1", streams: { ghost: { state: "LIVE", since: T0 - 60_000, clientId: "1" } } }),
    );
    const deps = { registry, fleet: makeGroup(registry, clock).group, config, now: clock.now };
    const report = {
      nodeId: "n1",
      secret: testNodeSecret("n1"),
      ready: true,
      streams: [{ name: "real", clientId: "9" }],
    };
    await recordHeartbeat(deps, report);
    expect((await registry.getNode("n1"))?.streams).toMatchObject({
      ghost: { state: "LIVE", missingSince: T0 },
      real: { state: "LIVE", clientId: "9" },
    });
    clock.advance(2 * config.heartbeatSeconds);
    await recordHeartbeat(deps, report);
    expect(Object.keys((await registry.getNode("n1"))?.streams ?? {})).toEqual(["real"]);
  });

  it("F12 a replayed callback or heartbeat changes nothing more than the original", async () => {
    const registry = new MemoryRegistry();
    await registry.createNode(makeNode({ nodeId: "n1" }));
    const deps = makeDeps(registry);
    const key = cameraKey(SECRETS.cameraMaster, "cam");
    const body = callbackBody({ call: "publish", name: "cam", clientid: "3", args: `key=${key}` });
    const captured = httpEvent({
      method: "POST",
      path: "/hooks/publish",
      body,
      headers: nodeHeaders("n1"),
    });
    const publish = createPublishHandler(deps);
    await publish(captured, CONTEXT);
    const once = await registry.getNode("n1");
    await publish(captured, CONTEXT);
    expect(await registry.getNode("n1")).toEqual(once);
  });

  describe.each([
    ["the in-memory registry", async () => new MemoryRegistry()],
    ["the DynamoDB registry", async () => (await freshDynamoRegistry("names")).registry],
  ])("F13 stream names that are JavaScript object members, on %s", (_, makeRegistry) => {
    it.each(["cam1", "constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"])(
      "%s resolves, publishes and ends like any other name",
      async (stream) => {
        const registry = await makeRegistry();
        await registry.createNode(makeNode({ nodeId: "n1" }));
        const deps = makeDeps(registry, { cameraKeys: false });
        const post = (path: string, call: string) =>
          httpEvent({
            method: "POST",
            path,
            body: callbackBody({ call, name: stream, clientid: "7" }),
            headers: nodeHeaders("n1"),
          });
        const resolved = await createResolveHandler(deps)(
          httpEvent({ path: "/resolve", query: `stream=${stream}` }),
          CONTEXT,
        );
        expect(resolved.statusCode).toBe(200);
        expect(JSON.parse(resolved.body ?? "{}")).toMatchObject({ stream, nodeId: "n1", state: "RESERVED" });
        expect((await createPublishHandler(deps)(post("/hooks/publish", "publish"), CONTEXT)).statusCode).toBe(200);
        const live = await registry.getNode("n1");
        expect(Object.keys(live?.streams ?? {})).toEqual([stream]);
        expect(Object.getPrototypeOf(live?.streams)).not.toHaveProperty("state");
        expect(heldStreams(live as never, T0)).toEqual([stream]);
        expect(await createDoneHandler(deps)(post("/hooks/done", "publish_done"), CONTEXT)).toMatchObject({
          statusCode: 200,
          body: JSON.stringify({ result: "removed", stream }),
        });
        expect(Object.keys((await registry.getNode("n1"))?.streams ?? {})).toEqual([]);
      },
    );
  });

  it("F14 a second publisher of a live name is refused and does not unregister the live camera", async () => {
    const { registry } = await freshDynamoRegistry("duplicate");
    await registry.createNode(makeNode({ nodeId: "n1" }));
    const deps = makeDeps(registry, { cameraKeys: false });
    const callback = (call: string, clientid: string) =>
      httpEvent({
        method: "POST",
        path: call === "publish" ? "/hooks/publish" : "/hooks/done",
        body: callbackBody({ call, name: "cam", clientid }),
        headers: nodeHeaders("n1"),
      });
    const publish = createPublishHandler(deps);
    const done = createDoneHandler(deps);
    expect((await publish(callback("publish", "1"), CONTEXT)).statusCode).toBe(200);
    // The same name again, from another connection (a copied key, a second encoder): refused.
    const second = await publish(callback("publish", "2"), CONTEXT);
    expect(second.statusCode).toBe(403);
    expect(JSON.parse(second.body ?? "{}")).toMatchObject({ error: "already_live" });
    // nginx-rtmp reports the refused connection's end too: it changes nothing.
    expect((await done(callback("publish_done", "2"), CONTEXT)).statusCode).toBe(200);
    expect((await registry.getNode("n1"))?.streams.cam).toMatchObject({ state: "LIVE", clientId: "1" });
    expect(await registry.claimOf("cam")).toMatchObject({ nodeId: "n1", clientId: "1" });
  });

  it("F15 10,000 keyless aborted publishes: nothing written, the node's item stays under 2 KB, cameras still placed", async () => {
    const { registry, tableName } = await freshDynamoRegistry("aborted");
    await registry.createNode(makeNode({ nodeId: "n1" }));
    const deps = makeDeps(registry);
    const done = createDoneHandler(deps);
    const itemBytes = async () => {
      const { Item } = await new DynamoDBClient({}).send(
        new GetItemCommand({ TableName: tableName, Key: dynamoItem(nodeItemKey("n1")), ConsistentRead: true }),
      );
      return JSON.stringify(Item).length;
    };
    const before = await itemBytes();
    // A client that leaves while on_publish is pending: nginx-rtmp still posts publish_done, with
    // whatever the client sent (here: no key), once per connection.
    const statuses = new Map<number, number>();
    for (let i = 0; i < 10_000; i++) {
      const body = callbackBody({ call: "publish_done", name: `x${i % 500}`, clientid: String(i + 1) });
      const result = await done(
        httpEvent({ method: "POST", path: "/hooks/done", body, headers: nodeHeaders("n1") }),
        CONTEXT,
      );
      statuses.set(result.statusCode, (statuses.get(result.statusCode) ?? 0) + 1);
    }
    expect([...statuses]).toEqual([[403, 10_000]]);
    expect(await itemBytes()).toBe(before);
    expect(before).toBeLessThan(2048);
    // With its key, an aborted publish leaves a tombstone of its own, not in the node's item.
    for (let i = 0; i < 200; i++) {
      const body = callbackBody({
        call: "publish_done",
        name: "cam",
        clientid: String(i + 1),
        args: `key=${cameraKey(SECRETS.cameraMaster, "cam")}`,
      });
      await done(httpEvent({ method: "POST", path: "/hooks/done", body, headers: nodeHeaders("n1") }), CONTEXT);
    }
    expect(await itemBytes()).toBe(before);
    const resolved = await createResolveHandler(deps)(
      httpEvent({ path: "/resolve", query: `stream=cam1&key=${cameraKey(SECRETS.cameraMaster, "cam1")}` }),
      CONTEXT,
    );
    expect(resolved.statusCode).toBe(200);
  });

  /** Ticks the scaler every heartbeat period for `seconds`, the nodes in `reporting` sending their heartbeats. */
  async function run(fleet: Awaited<ReturnType<typeof twoNodesOneCamera>>, seconds: number, reporting: string[]) {
    const reports: TickReport[] = [];
    for (let t = 0; t < seconds; t += fleet.config.heartbeatSeconds) {
      fleet.clock.advance(fleet.config.heartbeatSeconds);
      for (const id of reporting)
        await fleet.harness.heartbeat(id, { streams: await fleet.harness.registeredStreams(id) });
      reports.push(await fleet.harness.tick());
    }
    return reports;
  }

  it("F16 one node's heartbeats blocked for 10 minutes while it carries a camera: kept, protected, alarmed, back after", async () => {
    const fleet = await twoNodesOneCamera();
    const { registry, group, launcher, harness } = fleet;
    // i-1's agent cannot reach the control plane; its machine and nginx are fine (no evidence says otherwise).
    const reports = await run(fleet, 600, ["i-2"]);
    expect(reports.flatMap((r) => r.plan?.markDead ?? [])).toEqual([]);
    expect(reports.flatMap((r) => [...(r.plan?.terminate ?? []), ...(r.plan?.replace ?? [])])).toEqual([]);
    expect(launcher.stopped).toEqual([]);
    expect((await group.describe()).instances.find((i) => i.instanceId === "i-1")?.protectedFromScaleIn).toBe(true);
    expect(await registry.getNode("i-1")).toMatchObject({ state: "SILENT", streams: { cam: { state: "LIVE" } } });
    // The alarm's metric: a SILENT node every run from the first one past 4 periods.
    expect(reports.at(-1)?.plan?.summary).toMatchObject({ silent: 1, breakerOpen: false });
    expect(reports.flatMap((r) => r.events).filter((e) => e.kind === "silent")).toHaveLength(1);
    // Out of placement meanwhile: a new camera goes to i-2.
    expect(await harness.camera("cam2")).toBe("i-2");
    // Heartbeats return: in service again, with the stream its rtmp_stat lists.
    await harness.heartbeat("i-1", { streams: [{ name: "cam", clientId: "1" }] });
    expect(await registry.getNode("i-1")).toMatchObject({ state: "ACTIVE", streams: { cam: { state: "LIVE" } } });
    expect((await harness.tick()).plan?.summary.silent).toBe(0);
  });

  it("F17 every node's heartbeats blocked for 10 minutes: no node terminated or declared dead", async () => {
    const fleet = await twoNodesOneCamera();
    const reports = await run(fleet, 600, []);
    expect(
      reports.flatMap((r) => [...(r.plan?.markDead ?? []), ...(r.plan?.terminate ?? []), ...(r.plan?.replace ?? [])]),
    ).toEqual([]);
    expect(fleet.launcher.stopped).toEqual([]);
    expect(reports.at(-1)?.plan?.summary).toMatchObject({ breakerOpen: true, silent: 2 });
    expect(reports.flatMap((r) => r.events).some((e) => e.kind === "breaker")).toBe(true);
    expect(await fleet.registry.getNode("i-1")).toMatchObject({ state: "SILENT", streams: { cam: { state: "LIVE" } } });
  });

  it("F18 a node whose machine really died is still reaped within today's bound: DEAD past 4 periods, terminated past 8", async () => {
    const fleet = await twoNodesOneCamera();
    fleet.harness.machines.crash("i-1");
    const reports = await run(fleet, 10 * fleet.config.heartbeatSeconds, ["i-2"]);
    const at = (kind: "markDead" | "terminate") => reports.findIndex((r) => r.plan?.[kind].includes("i-1")) + 1; // heartbeat periods from the crash
    expect(at("markDead")).toBe(DEAD_AFTER_HEARTBEATS + 1);
    expect(at("terminate")).toBe(2 * DEAD_AFTER_HEARTBEATS + 1);
    expect(fleet.launcher.stopped).toEqual(["i-1"]);
  });
});
