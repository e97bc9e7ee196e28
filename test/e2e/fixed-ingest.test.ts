/**
 * End to end, the fixed ingest address: local mode's nginx `stream {}` proxy in front of real
 * nginx-rtmp nodes, with real ffmpeg cameras that publish to it without ever calling resolve.
 * Policy: at most 2 streams a node, 1 spare node, minNodes 1.
 */
import { execFileSync } from "node:child_process";
import { cameraKey } from "../../lambdas/core/credentials";
import { Camera, type LocalMode, processesMatching, startLocalMode, waitFor } from "../support/local-mode";

jest.setTimeout(240_000);

const MASTER = "e2e-ingest-master";
const key = (stream: string) => cameraKey(MASTER, stream);

interface Ingest {
  address: string;
  target: string | null;
}
interface NodeView {
  nodeId: string;
  state: string;
  streams: number;
  reservations: number;
}
interface StreamView {
  stream: string;
  nodeId: string;
  state: string;
}

let local: LocalMode;
const cameras: Camera[] = [];

const get = async <T>(route: string): Promise<T> => (await fetch(`${local.url}${route}`)).json() as Promise<T>;
const ingest = async () => (await get<{ ingest: Ingest }>("/local/nodes")).ingest;
const nodes = async () => (await get<{ nodes: NodeView[] }>("/nodes")).nodes;
const streams = async () => (await get<{ streams: StreamView[] }>("/streams")).streams;
const liveOn = async (stream: string) =>
  (await streams()).find((s) => s.stream === stream && s.state === "LIVE")?.nodeId;

/**
 * A camera as off-the-shelf firmware does it: one URL, the fixed address, and a retry a second
 * after a refusal (a proxy reload takes a moment to reach every new connection).
 * @returns the node the stream went live on, and the camera that is live there
 */
async function publishThroughTheDoor(stream: string): Promise<{ nodeId: string; camera: Camera }> {
  const { address } = await ingest();
  for (let attempt = 1; attempt <= 5; attempt++) {
    const camera = new Camera(stream, `${address}/${stream}?key=${key(stream)}`);
    cameras.push(camera);
    const nodeId = await waitFor(`${stream} live, or refused`, async () => (await liveOn(stream)) ?? !camera.running);
    if (typeof nodeId === "string") return { nodeId, camera };
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`${stream} was refused five times through ${address}`);
}

/** The proxy's nginx workers as `ps` titles them: an old one finishing its connections says "shutting down". */
function proxyWorkers(): string[] {
  const master = processesMatching(`${local.workDir}`).find((line) => line.includes("ingest.conf"));
  const pid = master?.trim().split(" ")[0];
  if (!pid) throw new Error(`no ingest proxy among ${processesMatching(local.workDir).join("\n")}`);
  return execFileSync("ps", ["-o", "args=", "--ppid", pid], { encoding: "utf8" }).trim().split("\n");
}

/** What a refused camera must not change: each node's slots, and the streams. */
const registryView = async () => ({
  slots: (await nodes()).map((n) => [n.nodeId, n.streams, n.reservations]),
  streams: await streams(),
});

beforeAll(async () => {
  local = await startLocalMode(
    [
      ...["--max-streams-per-node", "2", "--buffer-nodes", "1", "--min-nodes", "1"],
      ...["--tick-seconds", "1", "--heartbeat-seconds", "2", "--scale-in-idle-seconds", "120"],
    ],
    { cameraSecret: MASTER },
  );
  await waitFor("two ACTIVE nodes", async () => (await nodes()).filter((n) => n.state === "ACTIVE").length === 2);
});

afterAll(async () => {
  await Promise.all(cameras.map((c) => c.stop()));
  if (local) {
    const code = await local.stop();
    expect(code).toBe(0);
    // Ctrl-C stopped every nginx it started, the proxy's old workers included.
    expect(processesMatching(local.workDir)).toEqual([]);
  }
});

describe("local mode's fixed ingest address, with nginx-rtmp and ffmpeg cameras that never resolve", () => {
  let nodeA: string;
  let nodeB: string;
  /** The registry and the cameras, sampled while the proxy switches: any moment cam1 or cam2 was not live on A. */
  const gaps: string[] = [];
  const firstTwo: Camera[] = [];

  it("prints the fixed address at start, and points it at the first node in fill order", async () => {
    const { address } = await ingest();
    expect(address).toMatch(/^rtmp:\/\/127\.0\.0\.1:\d+\/live$/);
    expect(local.output()).toContain(`fixed ingest address, filled in order: ${address}/<stream>?key=<its camera key>`);
    const [oldest] = (await nodes()).filter((n) => n.state === "ACTIVE");
    nodeA = await waitFor("the proxy pointed at a node", async () => (await ingest()).target ?? undefined);
    expect(nodeA).toBe(oldest?.nodeId);
  });

  it("puts cameras 1 and 2 on node A, switches the proxy to node B once A is full, and puts camera 3 there", async () => {
    for (const stream of ["cam1", "cam2"]) {
      const { nodeId, camera } = await publishThroughTheDoor(stream);
      expect(nodeId).toBe(nodeA);
      firstTwo.push(camera);
    }
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const camera of firstTwo) {
          const on = await liveOn(camera.name);
          if (on !== nodeA || !camera.running) gaps.push(`${camera.name}: live on ${on}, running ${camera.running}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    nodeB = await waitFor("the proxy switched", async () => {
      const { target } = await ingest();
      return target !== nodeA ? (target ?? undefined) : undefined;
    });
    expect(nodeB).not.toBe(nodeA);
    expect((await publishThroughTheDoor("cam3")).nodeId).toBe(nodeB);
    // The old worker still carries cam1 and cam2 to node A, the new one takes new cameras to B.
    expect(proxyWorkers()).toEqual(
      expect.arrayContaining(["nginx: worker process is shutting down", "nginx: worker process"]),
    );
    await new Promise((resolve) => setTimeout(resolve, 5000));
    sampling = false;
    await sampler;
    expect(local.output()).toContain(`now go to ${nodeB}`);
  });

  it("cut neither camera 1 nor camera 2 when it switched: both stayed live on node A throughout", async () => {
    expect(gaps).toEqual([]);
    expect(firstTwo.map((c) => [c.name, c.running])).toEqual([
      ["cam1", true],
      ["cam2", true],
    ]);
    const byId = new Map((await nodes()).map((n) => [n.nodeId, n]));
    expect([byId.get(nodeA)?.streams, byId.get(nodeB)?.streams]).toEqual([2, 1]);
  });

  it.each([
    ["without a key", (address: string) => `${address}/nokey`],
    ["with another camera's key", (address: string) => `${address}/intruder?key=${key("cam1")}`],
  ])("refuses a camera %s at the fixed address, and writes nothing", async (_, url) => {
    const before = await registryView();
    const refused = new Camera("refused", url((await ingest()).address));
    cameras.push(refused);
    expect(await refused.exited()).not.toBe(0);
    expect(await registryView()).toEqual(before);
  });
});
