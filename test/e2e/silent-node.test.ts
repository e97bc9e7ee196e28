/**
 * A node whose heartbeats stop while it carries a camera, with real nginx-rtmp and ffmpeg: its
 * agent is stopped (SIGSTOP) for 30 heartbeat periods, far past the 8 after which a silent node
 * used to be terminated. Its nginx runs on and keeps receiving the camera, so nothing says its
 * machine is gone: the node is SILENT (out of placement, protected), the camera is never cut, and
 * the node is back in service when its agent resumes.
 */
import { cameraKey } from "../../lambdas/core/credentials";
import { Camera, type LocalMode, startLocalMode, waitFor } from "../support/local-mode";

jest.setTimeout(180_000);

const MASTER = "silent-node-camera-master";
const HEARTBEAT_SECONDS = 1;

interface NodeView {
  nodeId: string;
  state: string;
  streams: number;
  protectedFromScaleIn: boolean;
}
interface LocalNode {
  instanceId: string;
  agentPid: number;
  nginxPid: number;
}

let local: LocalMode;
let camera: Camera | undefined;

const get = async <T>(path: string): Promise<T> => (await fetch(`${local.url}${path}`)).json() as Promise<T>;
const node = async (id: string) => (await get<{ nodes: NodeView[] }>("/nodes")).nodes.find((n) => n.nodeId === id);

beforeAll(async () => {
  local = await startLocalMode(
    [
      "--max-streams-per-node",
      "2",
      "--buffer-nodes",
      "1",
      "--tick-seconds",
      "1",
      "--heartbeat-seconds",
      String(HEARTBEAT_SECONDS),
    ],
    { cameraSecret: MASTER },
  );
  await waitFor("two ACTIVE nodes", async () => {
    const { nodes } = await get<{ nodes: NodeView[] }>("/nodes");
    return nodes.filter((n) => n.state === "ACTIVE").length === 2;
  });
});

afterAll(async () => {
  await camera?.stop();
  if (local) expect(await local.stop()).toBe(0);
});

it("keeps a node whose agent is stopped for 30 heartbeat periods, and its camera, then takes it back", async () => {
  const key = cameraKey(MASTER, "cam1");
  const url = (
    await (await fetch(`${local.url}/resolve?stream=cam1&key=${key}`, { headers: { accept: "text/plain" } })).text()
  ).trim();
  camera = new Camera("cam1", url);
  const { nodeId } = await waitFor("cam1 live", async () =>
    (await get<{ streams: { stream: string; nodeId: string; state: string }[] }>("/streams")).streams.find(
      (s) => s.stream === "cam1" && s.state === "LIVE",
    ),
  );
  const { nodes: locals } = await get<{ nodes: LocalNode[] }>("/local/nodes");
  const agent = locals.find((n) => n.instanceId === nodeId)?.agentPid as number;

  process.kill(agent, "SIGSTOP");
  try {
    await waitFor("the node SILENT", async () => (await node(nodeId))?.state === "SILENT", 20_000);
    // 30 periods of silence: 8 used to be enough to terminate the node and cut its camera.
    const states = new Set<string>();
    const until = Date.now() + 30 * HEARTBEAT_SECONDS * 1000;
    while (Date.now() < until) {
      const view = await node(nodeId);
      states.add(view?.state ?? "gone");
      expect(view).toMatchObject({ streams: 1, protectedFromScaleIn: true });
      expect(camera.running).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect([...states]).toEqual(["SILENT"]);
    expect(local.output()).not.toMatch(new RegExp(`${nodeId}: stopped|terminated node ${nodeId}`));
  } finally {
    process.kill(agent, "SIGCONT");
  }
  await waitFor("the node ACTIVE again", async () => (await node(nodeId))?.state === "ACTIVE", 20_000);
  expect(await node(nodeId)).toMatchObject({ streams: 1 });
  expect(camera.cut).toBe(false);
});
