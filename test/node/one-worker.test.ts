/**
 * The node's stream list is the truth at the worker count it really runs: one local node rendered
 * exactly as an AWS node is (media-node/render_node.py, the same templates), 6 real ffmpeg
 * cameras, and the agent's heartbeats, through the node's shim, at a fast interval. nginx-rtmp's
 * stat page lists only the streams of the worker that answers it: with more than one worker,
 * heartbeats list some of the cameras and the control plane would see the others end.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { LocalNginxFleet } from "../../local/nginx-fleet";
import { Camera, encodeClip, waitFor } from "../support/local-mode";
import { type StandInApi, startStandInApi } from "../support/stand-in-api";

const CAMERAS = 6;
const BEATS = 40;
const HEARTBEAT_SECONDS = 0.5;

let workDir: string;
let api: StandInApi;
let fleet: LocalNginxFleet;
const cameras: Camera[] = [];
const log: string[] = [];

beforeAll(async () => {
  workDir = mkdtempSync(path.join(os.tmpdir(), "rtmp-fleet-node-"));
  const clip = encodeClip(path.join(workDir, "clip.flv"));
  api = await startStandInApi();
  fleet = new LocalNginxFleet({
    workDir: path.join(workDir, "nodes"),
    apiUrl: () => api.url,
    secretOf: () => "node-secret-0123456789",
    heartbeatSeconds: HEARTBEAT_SECONDS,
    log: (line) => log.push(line),
  });
  await fleet.start("n1");
  const [node] = fleet.list();
  if (!node) throw new Error("the node did not start");
  await waitFor("the node's first ready heartbeat", async () => api.heartbeats().some((h) => h.ready));
  for (let i = 1; i <= CAMERAS; i++) cameras.push(new Camera(`cam${i}`, `${node.rtmpBaseUrl}/cam${i}`, clip));
  await waitFor("every camera's on_publish", async () => api.callbacks("/hooks/publish").length === CAMERAS);
});

afterAll(async () => {
  await Promise.all(cameras.map((c) => c.stop()));
  await fleet?.stopAll();
  await api?.close();
  rmSync(workDir, { recursive: true, force: true });
});

describe("one node rendered as on AWS, with 6 cameras", () => {
  it("runs one nginx worker, as every node does", () => {
    const master = fleet.list()[0]?.nginx.pid;
    const workers = execFileSync("pgrep", ["-P", String(master)], { encoding: "utf8" })
      .trim()
      .split("\n");
    expect(workers).toHaveLength(1);
  });

  it(`lists every live camera in each of ${BEATS} heartbeats, with no false end`, async () => {
    const from = api.heartbeats().length;
    await waitFor(`${BEATS} more heartbeats`, async () => api.heartbeats().length >= from + BEATS, 120_000);
    const beats = api.heartbeats().slice(from);
    const expected = cameras.map((c) => c.name).sort();
    const listed = beats.map((beat) => beat.streams.map((s) => s.name).sort());
    const incomplete = listed.filter((names) => names.join() !== expected.join());
    expect({
      beats: beats.length >= BEATS,
      incomplete: `${incomplete.length} of ${beats.length}`,
      firstIncomplete: incomplete.slice(0, 3).map((names) => names.join(" ")),
      notReady: beats.filter((b) => !b.ready).length,
    }).toEqual({ beats: true, incomplete: `0 of ${beats.length}`, firstIncomplete: [], notReady: 0 });
    // No camera ended: none was cut, and nginx reported no publisher's end.
    expect(cameras.filter((c) => !c.running).map((c) => `${c.name}: ${c.errors}`)).toEqual([]);
    expect(api.callbacks("/hooks/done").map((c) => c.get("name"))).toEqual([]);
  });

  it("reports the CPU of that worker and the streams it carried", () => {
    const last = api.heartbeats().at(-1);
    expect(last?.cpuPercent).toEqual(expect.any(Number));
    expect(last?.streamsAverage).toBe(CAMERAS);
  });
});
