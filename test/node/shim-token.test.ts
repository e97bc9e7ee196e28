/**
 * The loopback shim answers only its node's own nginx and agent: one node rendered as an AWS node
 * is (local/nginx-fleet.ts, media-node/render_node.py), against a stand-in API. Its camera's
 * on_publish and its agent's heartbeats arrive; any other local process, which does not hold the
 * shim's token, is refused with a 403 and nothing reaches the API in the node's name.
 */
import { statSync } from "node:fs";
import path from "node:path";
import { type LocalNode, shimTokenFile } from "../../local/nginx-fleet";
import { Camera, encodeClip, waitFor } from "../support/local-mode";
import { type OneNode, startOneNode } from "../support/one-node";
import type { StandInApi } from "../support/stand-in-api";

const NODE_ID = "i-0a11ce5000000000b";
const SECRET = "c2hpbS10b2tlbi1ub2RlLTAx";

let one: OneNode;
let api: StandInApi;
let node: LocalNode;

beforeAll(async () => {
  one = await startOneNode({ nodeId: NODE_ID, secret: SECRET });
  ({ api, node } = one);
});

afterAll(async () => {
  await one?.close();
});

/** A request to the node's shim (or another loopback port of it) as any local process can send. */
async function ask(port: number, requestPath: string, body?: string) {
  const response = await fetch(`http://127.0.0.1:${port}${requestPath}`, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

describe("the shim, as its node's nginx and agent use it", () => {
  it("delivers the agent's heartbeats (it reads the token from its file)", async () => {
    const beat = await waitFor("a ready heartbeat", async () => api.heartbeats().find((h) => h.ready));
    expect(beat).toMatchObject({ ready: true, streams: [] });
    expect(api.calls.find((c) => c.path === "/nodes/heartbeat")?.headers).toMatchObject({
      "x-node-id": NODE_ID,
      "x-node-secret": SECRET,
    });
  });

  it("delivers the rtmp nginx's on_publish and on_publish_done (its callback URLs carry the token)", async () => {
    const camera = new Camera(
      "cam1",
      `${node.rtmpBaseUrl}/cam1?key=k1`,
      encodeClip(path.join(one.workDir, "clip.flv")),
    );
    const publish = await waitFor("on_publish", async () => api.callbacks("/hooks/publish")[0]);
    expect(publish.get("name")).toBe("cam1");
    await waitFor("cam1 in a heartbeat (the agent reads the stat page through the shim)", async () =>
      api.heartbeats().some((h) => h.streams.some((s) => s.name === "cam1")),
    );
    await camera.stop();
    const done = await waitFor("on_publish_done", async () => api.callbacks("/hooks/done")[0]);
    expect(done.get("call")).toBe("publish_done");
  });

  it("keeps the token in files only the node's user can read", () => {
    expect(statSync(shimTokenFile(node.dir)).mode & 0o777).toBe(0o600);
    expect(statSync(node.dir).mode & 0o077).toBe(0);
  });
});

describe("the shim, as any other process on the node sees it", () => {
  const heartbeat = JSON.stringify({ ready: true, cpuPercent: 1, streams: [{ name: "cam7", clientId: "1" }] });
  const publish = "app=live&name=cam7&clientid=1&call=publish";

  it.each<[string, string, string | undefined]>([
    ["a heartbeat without the token", "/nodes/heartbeat", heartbeat],
    ["an on_publish without the token", "/hooks/publish", publish],
    ["an on_publish_done without the token", "/hooks/done", publish],
    ["a callback the rtmp config does not set, without the token", "/hooks/play", publish],
    ["the stat page without the token", "/stat", undefined],
    ["a heartbeat with a made-up token", "/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/nodes/heartbeat", heartbeat],
    ["a heartbeat with the token's first half", "/{half}/nodes/heartbeat", heartbeat],
  ])("refuses %s (403) and forwards nothing to the API", async (_, requestPath, body) => {
    const before = api.calls.length;
    const withHalf = requestPath.replace("{half}", node.shimToken.slice(0, 21));
    expect(await ask(node.shimPort, withHalf, body)).toBe(403);
    // A heartbeat's period later, the API has seen nothing but the node's own agent.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const since = api.calls.slice(before);
    expect(since.filter((c) => c.path !== "/nodes/heartbeat" || c.body.includes("cam7"))).toEqual([]);
  });

  it("refuses the rtmp nginx's stat page without the token, and serves it with", async () => {
    const statPort = Number(new URL(node.statUrl).port);
    expect(await ask(statPort, "/stat")).toBe(403);
    expect(await ask(statPort, `/${node.shimToken}/stat`)).toBe(200);
  });
});
