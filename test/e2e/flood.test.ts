/**
 * A node's control path cannot be starved by its data path (issue 11, fault "TCP flood on 1935"):
 * 5,000 idle TCP connections (no RTMP handshake, no key) to one node's RTMP port from 127.0.0.1,
 * held for 90 s and then closed, against local mode (the real control plane, nodes rendered the
 * AWS way). The node carries a live camera all along. Its heartbeats must all succeed, the camera
 * must not be cut, and a new camera with a valid key must still publish on the fleet meanwhile.
 */
import { execFileSync } from "node:child_process";
import { connect, type Socket } from "node:net";
import { cameraKey } from "../../lambdas/core/credentials";
import { Camera, type LocalMode, processesMatching, startLocalMode, waitFor } from "../support/local-mode";

const FLOOD_SOCKETS = 5_000;
const FLOOD_SECONDS = 90;
const MASTER = "flood-camera-master";
const HEARTBEAT_SECONDS = 2;

jest.setTimeout(300_000);

/** Idle TCP connections to one port, opened in batches and held until `close`. */
class Flood {
  private readonly sockets = new Set<Socket>();
  /** Connections that were established, and those the server closed while the flood held them. */
  established = 0;
  closedByServer = 0;
  refused = 0;
  private closing = false;

  async open(port: number, count: number, batch = 250): Promise<void> {
    for (let done = 0; done < count; done += batch) {
      const size = Math.min(batch, count - done);
      await Promise.all(Array.from({ length: size }, () => this.one(port)));
    }
  }

  private one(port: number): Promise<void> {
    return new Promise((resolve) => {
      const socket = connect({ host: "127.0.0.1", port });
      this.sockets.add(socket);
      socket.once("connect", () => {
        this.established += 1;
        resolve();
      });
      socket.once("error", () => {
        if (!socket.readyState.startsWith("open")) this.refused += 1;
        resolve();
      });
      socket.once("close", () => {
        this.sockets.delete(socket);
        if (!this.closing) this.closedByServer += 1;
        resolve();
      });
    });
  }

  /** Sockets the flood still holds open. */
  get held(): number {
    return this.sockets.size;
  }

  close(): void {
    this.closing = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }
}

/** Established TCP connections the node holds on its RTMP port, as the kernel counts them. */
function serverSideConnections(port: number): number {
  const out = execFileSync("ss", ["-Htn", "state", "established", `( sport = :${port} )`], { encoding: "utf8" });
  return out.split("\n").filter((line) => line.trim()).length;
}

let local: LocalMode;
const cameras: Camera[] = [];
const flood = new Flood();

const get = async <T>(path: string): Promise<T> => (await fetch(`${local.url}${path}`)).json() as Promise<T>;
const liveOn = async (stream: string) =>
  (await get<{ streams: { stream: string; nodeId: string; state: string }[] }>("/streams")).streams.find(
    (s) => s.stream === stream && s.state === "LIVE",
  )?.nodeId;

/** A camera as an operator sets it up: resolve with its key, then publish to the URL it got. */
async function startCamera(stream: string): Promise<Camera> {
  const response = await fetch(`${local.url}/resolve?stream=${stream}&key=${cameraKey(MASTER, stream)}`, {
    headers: { accept: "text/plain" },
  });
  if (!response.ok) throw new Error(`resolve ${stream}: HTTP ${response.status} ${await response.text()}`);
  const camera = new Camera(stream, (await response.text()).trim());
  cameras.push(camera);
  return camera;
}

beforeAll(async () => {
  local = await startLocalMode(
    [
      ...["--tick-seconds", "1", "--heartbeat-seconds", String(HEARTBEAT_SECONDS)],
      ...["--min-nodes", "1", "--buffer-nodes", "1"],
    ],
    { cameraSecret: MASTER },
  );
  await waitFor(
    "two ACTIVE nodes",
    async () =>
      (await get<{ nodes: { state: string }[] }>("/nodes")).nodes.filter((n) => n.state === "ACTIVE").length === 2,
  );
});

afterAll(async () => {
  flood.close();
  await Promise.all(cameras.map((c) => c.stop()));
  if (local) {
    expect(await local.stop()).toBe(0);
    expect(processesMatching(local.workDir)).toEqual([]);
  }
});

describe(`${FLOOD_SOCKETS} idle connections to a node's RTMP port for ${FLOOD_SECONDS} s`, () => {
  it("starve neither its heartbeats nor its live camera, and a new camera still publishes", async () => {
    const first = await startCamera("cam1");
    const nodeId = await waitFor("cam1 live", () => liveOn("cam1"));
    const node = (await get<{ nodes: { instanceId: string; rtmpBaseUrl: string }[] }>("/local/nodes")).nodes.find(
      (n) => n.instanceId === nodeId,
    );
    const port = Number(new URL(node?.rtmpBaseUrl.replace("rtmp:", "http:") ?? "").port);
    const outputBefore = local.output().length;
    const started = Date.now();

    await flood.open(port, FLOOD_SOCKETS);
    const openedIn = (Date.now() - started) / 1000;
    const afterOpen = { held: flood.held, server: serverSideConnections(port) };
    // A new camera, while the flood holds its sockets: it resolves and publishes, retrying as a
    // camera would when its connection is refused.
    let secondLive: { after: number; nodeId: string; attempts: number } | undefined;
    for (let attempts = 1; !secondLive && Date.now() - started < FLOOD_SECONDS * 1000; attempts++) {
      const second = await startCamera("cam2");
      const live = await waitFor("cam2 live, or refused", async () => (await liveOn("cam2")) ?? !second.running);
      if (typeof live === "string" && second.running) {
        secondLive = { after: (Date.now() - started) / 1000, nodeId: live, attempts };
      } else {
        await second.stop();
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
    const mostServerSide = [afterOpen.server];
    while (Date.now() - started < FLOOD_SECONDS * 1000) {
      mostServerSide.push(serverSideConnections(port));
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const heldAtEnd = flood.held;
    flood.close();
    const seconds = (Date.now() - started) / 1000;
    // One more heartbeat period, so that a heartbeat failing at the end is seen too.
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_SECONDS * 2000));

    const log = local.output().slice(outputBefore);
    const failedHeartbeats = log.split("\n").filter((line) => line.includes(`${nodeId} agent: heartbeat failed`));
    const { events } = await get<{ events: { kind: string; nodeId?: string; message: string }[] }>("/events");
    const figures = {
      sockets: FLOOD_SOCKETS,
      seconds: Math.round(seconds),
      openedInSeconds: Math.round(openedIn),
      established: flood.established,
      refused: flood.refused,
      closedByNode: flood.closedByServer,
      heldByFloodAfterOpening: afterOpen.held,
      heldByFloodAtEnd: heldAtEnd,
      mostHeldByNode: Math.max(...mostServerSide),
      failedHeartbeats: failedHeartbeats.length,
      streamsCut: cameras.filter((c) => c.cut).length,
      newCamera: secondLive && { ...secondLive, onFloodedNode: secondLive.nodeId === nodeId },
      nodeDeclaredDead: events.some((e) => e.kind === "dead" && e.nodeId === nodeId),
    };
    console.info(`flood figures: ${JSON.stringify(figures)}`);
    expect({
      failedHeartbeats: failedHeartbeats.slice(0, 3),
      cameraCut: first.cut,
      newCameraLive: secondLive !== undefined,
      nodeDeclaredDead: figures.nodeDeclaredDead,
    }).toEqual({ failedHeartbeats: [], cameraCut: false, newCameraLive: true, nodeDeclaredDead: false });
    expect(await liveOn("cam1")).toBe(nodeId);
    // Nothing left behind: the node holds the cameras' connections only.
    await waitFor("the flood's connections gone from the node", async () => serverSideConnections(port) <= 2);
  });
});
