/**
 * Viewers against the real media server: one node rendered exactly as an AWS node is
 * (media-node/render_node.py, the same templates: on_play and on_play_done through its shim),
 * and the control plane's real handlers behind the local API server (local/server.ts) over the
 * in-memory registry, with viewer access on and a viewer cap of 2. A real ffmpeg camera publishes;
 * real ffmpeg players try to watch it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import { cameraKey, viewerKey } from "../../lambdas/core/credentials";
import { slotOf } from "../../lambdas/core/model";
import { LocalNginxFleet, type LocalNode } from "../../local/nginx-fleet";
import { type ApiServer, startApiServer } from "../../local/server";
import { makeConfig, makeDeps, makeNode, SECRETS, testNodeSecret } from "../support/builders";
import { Camera, Player, playFrames, waitFor } from "../support/local-mode";

const NODE_ID = "i-0viewers000000001";
const CAP = 2;
const FRAMES = 10;
const seeKey = (stream: string) => viewerKey(SECRETS.viewerMaster, stream);

let workDir: string;
let registry: MemoryRegistry;
let api: ApiServer;
let fleet: LocalNginxFleet;
let node: LocalNode;
let camera: Camera;
const players: Player[] = [];

/** The stream's slot on the node, as the registry holds it. */
const slot = async (stream: string) => {
  const held = await registry.getNode(NODE_ID);
  return held && slotOf(held, stream);
};
const viewersOf = async (stream: string) => (await slot(stream))?.viewers ?? 0;
/** Asks the control plane where to play, as a viewer does; the bare URL, or the HTTP status of a refusal. */
async function playUrl(stream: string, key = seeKey(stream)): Promise<string | number> {
  const response = await fetch(`${api.url}/play?stream=${stream}&key=${key}`, { headers: { accept: "text/plain" } });
  return response.ok ? (await response.text()).trim() : response.status;
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(os.tmpdir(), "rtmp-fleet-viewers-"));
  registry = new MemoryRegistry();
  const config = makeConfig({ maxViewersPerStream: CAP, heartbeatSeconds: 1 });
  api = await startApiServer({ ...makeDeps(registry, { config, cameraKeys: false }), now: Date.now }, 0);
  fleet = new LocalNginxFleet({
    workDir: path.join(workDir, "nodes"),
    apiUrl: () => api.url,
    secretOf: testNodeSecret,
    heartbeatSeconds: 1,
    log: () => undefined,
  });
  await fleet.start(NODE_ID);
  node = fleet.list()[0] as LocalNode;
  // Registered as the lifecycle path registers it, with its address and its secret's hash.
  await registry.createNode(makeNode({ nodeId: NODE_ID, rtmpBaseUrl: node.rtmpBaseUrl, launchedAt: Date.now() }));
  camera = new Camera("cam1", `${node.rtmpBaseUrl}/cam1`);
  await waitFor("cam1 live", async () => (await slot("cam1"))?.state === "LIVE");
});

afterAll(async () => {
  await Promise.all(players.map((p) => p.stop()));
  await camera?.stop();
  await fleet?.stopAll();
  await api?.close();
  rmSync(workDir, { recursive: true, force: true });
});

describe("a node rendered as on AWS, with viewer access on", () => {
  it.each([
    ["without a viewer key", ""],
    ["with a wrong viewer key", "?key=wrongwrongwrongwrongww"],
    ["with the camera's key", `?key=${cameraKey(SECRETS.cameraMaster, "cam1")}`],
    ["with another stream's viewer key", `?key=${seeKey("cam2")}`],
  ])("nginx refuses a player of a live camera %s", async (_, query) => {
    const refused = await playFrames(`${node.rtmpBaseUrl}/cam1${query}`, FRAMES, 20_000);
    expect(refused.code).not.toBe(0);
    expect(await viewersOf("cam1")).toBe(0);
  });

  it(`plays with the URL from /play: ${FRAMES} frames decoded`, async () => {
    const url = await playUrl("cam1");
    expect(url).toBe(`${node.rtmpBaseUrl}/cam1?key=${seeKey("cam1")}`);
    const played = await playFrames(url as string, FRAMES);
    expect({ code: played.code, errors: played.errors }).toEqual({ code: 0, errors: "" });
    console.info(`play start to ${FRAMES} frames decoded: ${played.ms} ms`);
    // The player left: on_play_done gave its place back.
    await waitFor("the player's place back", async () => (await viewersOf("cam1")) === 0);
  });

  it(`refuses the viewer one over the cap of ${CAP}, at /play and at nginx, and admits one again once a viewer leaves`, async () => {
    const url = (await playUrl("cam1")) as string;
    for (let i = 0; i < CAP; i++) players.push(new Player(url));
    await waitFor(`${CAP} viewers counted`, async () => (await viewersOf("cam1")) === CAP);
    expect(await playUrl("cam1")).toBe(429);
    const refused = await playFrames(url, FRAMES, 20_000);
    expect(refused.code).not.toBe(0);
    expect(players.every((p) => p.running)).toBe(true);
    expect(await viewersOf("cam1")).toBe(CAP);

    await players[0]?.stop();
    await waitFor("a place given back", async () => (await viewersOf("cam1")) === CAP - 1);
    expect((await playFrames(url, FRAMES)).code).toBe(0);
  });

  it("refuses a stream that is not live: 404 from /play, and nginx refuses its player", async () => {
    expect(await playUrl("nobody")).toBe(404);
    expect((await playFrames(`${node.rtmpBaseUrl}/nobody?key=${seeKey("nobody")}`, FRAMES, 20_000)).code).not.toBe(0);
  });
});
