/**
 * The shim over TLS, as on AWS (the API is HTTPS only): one node rendered as an AWS node is, its
 * shim trusting a local root CA, and a stand-in API on 127.0.0.1 whose certificate comes with two
 * intermediates (API Gateway's chain has one today; nginx's default verify depth allows only one).
 * A real camera's on_publish and on_publish_done and the agent's heartbeats must arrive intact.
 */
import path from "node:path";
import type { LocalNode } from "../../local/nginx-fleet";
import { Camera, encodeClip, waitFor } from "../support/local-mode";
import { type OneNode, startOneNode } from "../support/one-node";
import type { StandInApi } from "../support/stand-in-api";
import { localTlsChain } from "../support/tls-chain";

const NODE_ID = "i-0fedcba9876543210";
const SECRET = "dGxzLW5vZGUtc2VjcmV0LTAx";

let one: OneNode;
let api: StandInApi;
let node: LocalNode;
let camera: Camera;

beforeAll(async () => {
  one = await startOneNode({ nodeId: NODE_ID, secret: SECRET, tls: (dir) => localTlsChain(dir, 2) });
  ({ api, node } = one);
});

afterAll(async () => {
  await camera?.stop();
  await one?.close();
});

/** The first call the API received on `path`, once it has: its form body, and its headers. */
async function firstCall(path: string) {
  const call = await waitFor(`a call to ${path}`, async () => api.calls.find((c) => c.path === path));
  return { body: Object.fromEntries(new URLSearchParams(call.body)), headers: call.headers };
}

describe("the shim, forwarding to an HTTPS API whose chain has two intermediates", () => {
  it("delivers the agent's heartbeats, with the node's id and secret", async () => {
    const beat = await waitFor("a ready heartbeat over TLS", async () => api.heartbeats().find((h) => h.ready));
    expect(beat).toMatchObject({ ready: true, rtmpBaseUrl: node.rtmpBaseUrl, streams: [] });
    const call = api.calls.find((c) => c.path === "/nodes/heartbeat");
    expect(call?.headers).toMatchObject({
      "x-node-id": NODE_ID,
      "x-node-secret": SECRET,
      "content-type": "application/json",
    });
  });

  it("delivers a camera's on_publish intact, and its publish is accepted", async () => {
    camera = new Camera(
      "cam1",
      `${node.rtmpBaseUrl}/cam1?key=camera-key-1`,
      encodeClip(path.join(one.workDir, "clip.flv")),
    );
    const publish = await firstCall("/hooks/publish");
    expect(publish.body).toMatchObject({
      app: "live",
      call: "publish",
      name: "cam1",
      key: "camera-key-1",
      type: "live",
      addr: "127.0.0.1",
      clientid: expect.stringMatching(/^\d+$/),
    });
    expect(publish.headers).toMatchObject({
      "x-node-id": NODE_ID,
      "x-node-secret": SECRET,
      "content-type": "application/x-www-form-urlencoded",
    });
    await waitFor("cam1 in a heartbeat", async () =>
      api.heartbeats().some((h) => h.streams.some((s) => s.name === "cam1")),
    );
    expect(camera.running).toBe(true);
  });

  it("delivers the camera's on_publish_done intact when it stops", async () => {
    const { body: published } = await firstCall("/hooks/publish");
    await camera.stop();
    const done = await firstCall("/hooks/done");
    expect(done.body).toMatchObject({
      call: "publish_done",
      name: "cam1",
      key: "camera-key-1",
      clientid: published.clientid,
    });
    expect(done.headers).toMatchObject({ "x-node-id": NODE_ID, "x-node-secret": SECRET });
  });
});
