/**
 * End to end, with the real media server: local mode (the Lambdas' handlers, the scaler, the
 * in-process group) with real nginx-rtmp nodes rendered from media-node/, and real ffmpeg cameras.
 * Policy: at most 2 streams a node, 1 spare node, minNodes 1.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { cameraKey, viewerKey } from "../../lambdas/core/credentials";
import { Camera, type LocalMode, playFrames, processesMatching, startLocalMode, waitFor } from "../support/local-mode";

jest.setTimeout(240_000);

const MASTER = "e2e-camera-master";
const key = (stream: string) => cameraKey(MASTER, stream);
const VIEWER_MASTER = "e2e-viewer-master";
const seeKey = (stream: string) => viewerKey(VIEWER_MASTER, stream);

interface NodeView {
  nodeId: string;
  state: string;
  streams: number;
  protectedFromScaleIn: boolean;
}
interface StreamView {
  stream: string;
  nodeId: string;
  state: string;
  viewers: number;
}

let local: LocalMode;
const cameras = new Map<string, Camera>();
/** Cameras that are allowed to end without being stopped (refused, or on the node we kill). */
const expectedCuts = new Set<string>();

const get = async <T>(path: string): Promise<T> => (await fetch(`${local.url}${path}`)).json() as Promise<T>;
const nodes = async () => (await get<{ nodes: NodeView[] }>("/nodes")).nodes;
const streams = async () => (await get<{ streams: StreamView[] }>("/streams")).streams;
const liveOn = async (stream: string) =>
  (await streams()).find((s) => s.stream === stream && s.state === "LIVE")?.nodeId;

/** A camera as an operator sets it up: resolve with its key, then publish to the URL it got. */
async function startCamera(stream: string, keyOverride?: string): Promise<Camera> {
  const response = await fetch(`${local.url}/resolve?stream=${stream}&key=${keyOverride ?? key(stream)}`, {
    headers: { accept: "text/plain" },
  });
  if (!response.ok) throw new Error(`resolve ${stream}: HTTP ${response.status} ${await response.text()}`);
  const camera = new Camera(stream, (await response.text()).trim());
  cameras.set(`${stream}#${cameras.size}`, camera);
  return camera;
}

beforeAll(async () => {
  local = await startLocalMode(
    [
      "--max-streams-per-node",
      "2",
      "--buffer-nodes",
      "1",
      "--min-nodes",
      "1",
      "--tick-seconds",
      "1",
      "--heartbeat-seconds",
      "2",
      "--scale-in-idle-seconds",
      "6",
    ],
    { cameraSecret: MASTER, viewerSecret: VIEWER_MASTER },
  );
  await waitFor("two ACTIVE nodes", async () => (await nodes()).filter((n) => n.state === "ACTIVE").length === 2);
});

afterAll(async () => {
  await Promise.all([...cameras.values()].map((c) => c.stop()));
  if (local) {
    const code = await local.stop();
    expect(code).toBe(0);
    // Ctrl-C stopped every nginx it started.
    expect(processesMatching(local.workDir)).toEqual([]);
  }
});

describe("local mode with nginx-rtmp and ffmpeg cameras", () => {
  let nodeA: string;
  let nodeB: string;

  it("puts cameras 1 and 2 on node A and camera 3 on node B (fill order), and launches a new spare", async () => {
    await startCamera("cam1");
    nodeA = await waitFor("cam1 live", () => liveOn("cam1"));
    await startCamera("cam2");
    expect(await waitFor("cam2 live", () => liveOn("cam2"))).toBe(nodeA);
    await startCamera("cam3");
    nodeB = await waitFor("cam3 live", () => liveOn("cam3"));
    expect(nodeB).not.toBe(nodeA);
    await waitFor("a third node, ACTIVE", async () => (await nodes()).filter((n) => n.state === "ACTIVE").length === 3);
  });

  it("plays cam1 on real nginx-rtmp with the URL /play resolves; nginx refuses it without the viewer key", async () => {
    const response = await fetch(`${local.url}/play?stream=cam1&key=${seeKey("cam1")}`, {
      headers: { accept: "text/plain" },
    });
    expect(response.status).toBe(200);
    const playUrl = (await response.text()).trim();
    expect(playUrl).toMatch(new RegExp(`^rtmp://127\\.0\\.0\\.1:\\d+/live/cam1\\?key=${seeKey("cam1")}$`));
    const played = await playFrames(playUrl, 10);
    expect({ code: played.code, errors: played.errors }).toEqual({ code: 0, errors: "" });
    // The same node, the same stream, no key: nginx-rtmp's on_play refuses it.
    expect((await playFrames(playUrl.replace(/\?key=.*$/, ""), 10, 20_000)).code).not.toBe(0);
    // Not live: a 404 that registers nothing.
    const notLive = await fetch(`${local.url}/play?stream=cam9&key=${seeKey("cam9")}`);
    expect({ status: notLive.status, body: await notLive.json() }).toEqual({
      status: 404,
      body: { error: "not_live", message: expect.any(String) },
    });
    expect((await streams()).map((s) => s.stream)).not.toContain("cam9");
    // The player left: on_play_done gave its place back.
    await waitFor(
      "cam1 without viewers",
      async () => (await streams()).find((s) => s.stream === "cam1")?.viewers === 0,
    );
  });

  it("protects the nodes that carry streams", async () => {
    const byId = new Map((await nodes()).map((n) => [n.nodeId, n]));
    expect(byId.get(nodeA)).toMatchObject({ streams: 2, protectedFromScaleIn: true });
    expect(byId.get(nodeB)).toMatchObject({ streams: 1, protectedFromScaleIn: true });
  });

  it("refuses a camera with a wrong key at on_publish, registering nothing", async () => {
    // The camera skips resolve and goes straight to a node with another camera's key.
    const base = (await get<{ nodes: { instanceId: string; rtmpBaseUrl: string }[] }>("/local/nodes")).nodes.find(
      (n) => n.instanceId === nodeB,
    )?.rtmpBaseUrl;
    const intruder = new Camera("intruder", `${base}/intruder?key=${key("cam1")}`);
    cameras.set("intruder", intruder);
    expectedCuts.add("intruder");
    expect(await intruder.exited()).not.toBe(0);
    expect((await streams()).map((s) => s.stream)).not.toContain("intruder");
    // Resolve refuses it too, before any node is involved.
    const refused = await fetch(`${local.url}/resolve?stream=intruder&key=${key("cam1")}`);
    expect(refused.status).toBe(403);
  });

  it("declares a node killed with SIGKILL DEAD, removes its streams, and its camera re-resolves elsewhere", async () => {
    const processes = (
      await get<{ nodes: { instanceId: string; nginxPid: number; agentPid: number }[] }>("/local/nodes")
    ).nodes;
    const victim = processes.find((n) => n.instanceId === nodeB);
    if (!victim) throw new Error(`node ${nodeB} has no processes`);
    for (const id of cameras.keys()) if (id.startsWith("cam3#")) expectedCuts.add(id);
    process.kill(-victim.nginxPid, "SIGKILL"); // nginx master and workers
    process.kill(-victim.agentPid, "SIGKILL"); // and the agent: the whole machine is gone
    await waitFor(
      `${nodeB} DEAD`,
      async () => (await nodes()).find((n) => n.nodeId === nodeB)?.state === "DEAD",
      60_000,
    );
    expect((await streams()).map((s) => s.stream)).not.toContain("cam3");
    // The camera lost its connection; it resolves again and lands on a live node.
    await startCamera("cam3");
    const now = await waitFor("cam3 live again", () => liveOn("cam3"));
    expect(now).not.toBe(nodeB);
    // Node A is full and cam3's new node is in use: a spare is launched beside them.
    await waitFor(
      "three ACTIVE nodes again",
      async () => (await nodes()).filter((n) => n.state === "ACTIVE").length === 3,
      60_000,
    );
  });

  it("empties the registry when cameras stop (on_publish_done), then scales idle nodes in to minNodes + bufferNodes", async () => {
    for (const [id, camera] of cameras) if (id.startsWith("cam")) await camera.stop();
    await waitFor("no stream left", async () => (await streams()).length === 0);
    await waitFor(
      "two nodes left, both idle",
      async () => {
        const alive = (await nodes()).filter(
          (n) => n.state === "ACTIVE" || n.state === "PENDING" || n.state === "DRAINING",
        );
        return alive.length === 2 && alive.every((n) => n.streams === 0);
      },
      60_000,
    );
    // The scaler writes a run's events once the run is over, after the node it terminated is gone.
    const events = await waitFor("the drain event", async () => {
      const { events } = await get<{ events: { kind: string; nodeId?: string }[] }>("/events");
      return events.some((e) => e.kind === "drain") && events;
    });
    const drained = events.filter((e) => e.kind === "drain").map((e) => e.nodeId);
    // One node drained (newest first: the oldest node stays), none lost to silence.
    expect({ drained: drained.length, drainedA: drained.includes(nodeA) }).toEqual({ drained: 1, drainedA: false });
    expect(events.filter((e) => e.kind === "dead" && e.nodeId !== nodeB)).toEqual([]);
  });

  it("cut no camera: every one ended by its own stop, except the refused one and the one on the killed node", () => {
    const cut = [...cameras]
      .filter(([id, camera]) => camera.cut && !expectedCuts.has(id))
      .map(([id, c]) => `${id}: ${c.errors}`);
    expect(cut).toEqual([]);
  });
});

describe("local mode without its prerequisites", () => {
  it("stops with a message saying how to install nginx, its rtmp and stream modules and python3", () => {
    const result = spawnSync(process.execPath, ["--import", "tsx", "local/main.ts", "--port", "0"], {
      cwd: path.resolve(__dirname, "../.."),
      // No nginx, no python3 on this PATH; node itself is found by its absolute path.
      env: { ...process.env, PATH: "/nonexistent" },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/local mode needs: nginx is not installed; .*python3 is not installed/);
    expect(result.stderr).toMatch(/apt-get install nginx libnginx-mod-rtmp libnginx-mod-stream ffmpeg python3/);
  });

  it("refuses a bad flag, naming it, with the usage", () => {
    const result = spawnSync(process.execPath, ["--import", "tsx", "local/main.ts", "--buffer-nodes", "-1"], {
      cwd: path.resolve(__dirname, "../.."),
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--buffer-nodes must be at least 0/);
    expect(result.stderr).toMatch(/usage: npm run local -- \[flags\]/);
  });
});
