/**
 * The fixed ingest address (docs/ARCHITECTURE.md, D18): the hooks move its one target when a
 * publish fills the first node or a publisher's end frees it, the load balancer adapter moves it
 * make-before-break, and `/resolve` names the address (rtmps:// with RTMPS on).
 */
import {
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { mockClient } from "aws-sdk-client-mock";
import { ElbIngestTarget } from "../../lambdas/adapters/elb-ingest-target";
import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import { cameraKey } from "../../lambdas/core/credentials";
import type { IngestAddress } from "../../lambdas/core/ingest";
import { createDoneHandler, createPublishHandler } from "../../lambdas/handlers/hooks";
import { createResolveHandler } from "../../lambdas/handlers/resolve";
import {
  CONTEXT,
  callbackBody,
  httpEvent,
  makeConfig,
  makeDeps,
  makeNode,
  nodeHeaders,
  SECRETS,
  T0,
} from "../support/builders";

const key = (stream: string) => cameraKey(SECRETS.cameraMaster, stream);
const NLB = "fleet-ingest-0123456789.elb.eu-west-1.amazonaws.com";

/** A fleet of two nodes of two slots each, whose fixed address records where it is pointed. */
async function fleet(ingestAddress?: IngestAddress) {
  const registry = new MemoryRegistry();
  await registry.createNode(makeNode({ nodeId: "n1" }));
  await registry.createNode(makeNode({ nodeId: "n2", launchedAt: T0 + 1 }));
  const held: string[] = [];
  const deps = {
    ...makeDeps(registry, { config: makeConfig({ maxStreamsPerNode: 2 }) }),
    ingest: { hold: async (nodeId: string) => void held.push(nodeId) },
    ingestAddress,
  };
  const callback = (path: string, call: string, nodeId: string, cam: string, clientid: string) =>
    httpEvent({
      method: "POST",
      path,
      body: callbackBody({ call, name: cam, clientid, args: `key=${key(cam)}` }),
      headers: nodeHeaders(nodeId),
    });
  const publish = async (nodeId: string, cam: string, clientid: string) =>
    (await createPublishHandler(deps)(callback("/hooks/publish", "publish", nodeId, cam, clientid), CONTEXT))
      .statusCode;
  const done = async (nodeId: string, cam: string, clientid: string) =>
    (await createDoneHandler(deps)(callback("/hooks/done", "publish_done", nodeId, cam, clientid), CONTEXT)).statusCode;
  const resolve = (cam: string, accept = "application/json") =>
    createResolveHandler(deps)(
      httpEvent({ path: "/resolve", query: `stream=${cam}&key=${key(cam)}`, headers: { accept } }),
      CONTEXT,
    );
  return { held, publish, done, resolve };
}

describe("the hooks move the fixed ingest address", () => {
  it("to the next node when a publish fills the first, and back once ends free enough of it to reopen", async () => {
    const { held, publish, done } = await fleet();
    // n1 has one slot left: not full, and short of the 2 (reopenSlots, at most its limit) that reopen one.
    expect(await publish("n1", "c1", "1")).toBe(200);
    expect(held).toEqual([]);
    expect(await publish("n1", "c2", "2")).toBe(200);
    expect(held).toEqual(["n2"]);
    expect(await publish("n2", "c3", "3")).toBe(200);
    expect(held).toEqual(["n2"]);
    // One end leaves n1 a slot short of reopening: nothing to move. The second reopens it.
    expect(await done("n1", "c1", "1")).toBe(200);
    expect(held).toEqual(["n2"]);
    expect(await done("n1", "c2", "2")).toBe(200);
    expect(held).toEqual(["n2", "n1"]);
  });

  it("not for a refused publish, nor for a done that removes nothing", async () => {
    const { held, publish, done } = await fleet();
    expect(await publish("n2", "c1", "1")).toBe(403);
    expect(await done("n1", "c9", "9")).toBe(200);
    expect(held).toEqual([]);
  });
});

describe("GET /resolve on a fleet with a fixed ingest address", () => {
  it("answers the node's RTMP URL, and the fixed address as fixedUrl", async () => {
    const { resolve } = await fleet({ host: NLB, tls: false });
    const body = JSON.parse((await resolve("cam")).body as string);
    expect(body.rtmpUrl).toBe(`rtmp://n1.test:1935/live/cam?key=${encodeURIComponent(key("cam"))}&cid=req`);
    expect(body.fixedUrl).toBe(`rtmp://${NLB}:1935/live/cam?key=${encodeURIComponent(key("cam"))}`);
  });

  it("with RTMPS on, answers rtmps:// URLs through the load balancer, in JSON and as text", async () => {
    const { resolve } = await fleet({ host: NLB, tls: true });
    const rtmps = `rtmps://${NLB}:443/live/cam?key=${encodeURIComponent(key("cam"))}`;
    const body = JSON.parse((await resolve("cam")).body as string);
    expect([body.rtmpUrl, body.fixedUrl, body.nodeId]).toEqual([`${rtmps}&cid=req`, rtmps, "n1"]);
    expect((await resolve("cam", "text/plain")).body).toBe(`${rtmps}&cid=req\n`);
  });

  it("without one, names no fixed address", async () => {
    const { resolve } = await fleet();
    expect(JSON.parse((await resolve("cam")).body as string)).not.toHaveProperty("fixedUrl");
  });
});

describe("ElbIngestTarget (the load balancer's target group)", () => {
  const elb = mockClient(ElasticLoadBalancingV2Client);
  const TargetGroupArn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/ingest/0123456789abcdef";
  const target = new ElbIngestTarget(new ElasticLoadBalancingV2Client({ region: "eu-west-1" }), TargetGroupArn);
  const groupHolds = (...targets: [string, string][]) =>
    elb.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: targets.map(([Id, State]) => ({ Target: { Id }, TargetHealth: { State } as never })),
    });
  beforeEach(() => elb.reset());

  it("asks once and changes nothing when it already holds the node alone", async () => {
    groupHolds(["i-1", "healthy"], ["i-0", "draining"]);
    await target.hold("i-1");
    expect(elb.calls()).toHaveLength(1);
  });

  it("registers a new node and keeps the old one until the new one is healthy (make before break)", async () => {
    groupHolds(["i-1", "healthy"]);
    await target.hold("i-2");
    expect(elb).toHaveReceivedCommandWith(RegisterTargetsCommand, { TargetGroupArn, Targets: [{ Id: "i-2" }] });
    expect(elb).not.toHaveReceivedCommand(DeregisterTargetsCommand);
    elb.reset();
    groupHolds(["i-1", "healthy"], ["i-2", "initial"]);
    await target.hold("i-2");
    expect(elb.calls()).toHaveLength(1);
  });

  it("deregisters every other node once the node is healthy", async () => {
    groupHolds(["i-1", "healthy"], ["i-2", "healthy"], ["i-3", "unhealthy"]);
    await target.hold("i-2");
    expect(elb).toHaveReceivedCommandWith(DeregisterTargetsCommand, {
      TargetGroupArn,
      Targets: [{ Id: "i-1" }, { Id: "i-3" }],
    });
    expect(elb).not.toHaveReceivedCommand(RegisterTargetsCommand);
  });
});
