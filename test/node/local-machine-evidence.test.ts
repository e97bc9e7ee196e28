/**
 * Local mode's evidence that a silent node's machine is gone, read from real nginx-rtmp nodes:
 * a node that receives a real ffmpeg camera is never called gone, one that receives nothing is,
 * and so is one whose nginx is stopped or killed. nginx reads its sockets with recv(2), so a
 * count of the process's read(2) bytes would call the receiving node gone too.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { LocalMachineEvidence } from "../../local/machine-evidence";
import { LocalNginxFleet, type LocalNode } from "../../local/nginx-fleet";
import { Camera, encodeClip, waitFor } from "../support/local-mode";
import { type StandInApi, startStandInApi } from "../support/stand-in-api";

let workDir: string;
let api: StandInApi;
let fleet: LocalNginxFleet;
let camera: Camera | undefined;

const watched = (node: LocalNode) => ({
  instanceId: node.instanceId,
  nginxPid: node.nginx.pid,
  statUrl: node.statUrl,
});

beforeAll(async () => {
  workDir = mkdtempSync(path.join(os.tmpdir(), "rtmp-fleet-evidence-"));
  api = await startStandInApi();
  fleet = new LocalNginxFleet({
    workDir: path.join(workDir, "nodes"),
    apiUrl: () => api.url,
    secretOf: () => "node-secret-0123456789",
    heartbeatSeconds: 1,
    log: () => undefined,
  });
  for (const id of ["receiving", "idle", "stopped", "killed"]) await fleet.start(id);
  const nodeIds = () =>
    new Set(api.calls.filter((c) => c.path === "/nodes/heartbeat").map((c) => c.headers["x-node-id"]));
  await waitFor("every node's first heartbeat", async () => nodeIds().size === 4);
});

afterAll(async () => {
  await camera?.stop();
  const stopped = fleet?.list().find((n) => n.instanceId === "stopped")?.nginx.pid;
  if (stopped) process.kill(stopped, "SIGCONT");
  await fleet?.stopAll();
  await api?.close();
  rmSync(workDir, { recursive: true, force: true });
});

it("calls gone only the nodes whose nginx receives nothing, does not answer, or is not running", async () => {
  const byId = new Map(fleet.list().map((n) => [n.instanceId, n]));
  const node = (id: string) => byId.get(id) as LocalNode;
  const clip = encodeClip(path.join(workDir, "clip.flv"));
  camera = new Camera("cam1", `${node("receiving").rtmpBaseUrl}/cam1`, clip);
  await waitFor("the camera's on_publish", async () => api.callbacks("/hooks/publish").length === 1);

  const evidence = new LocalMachineEvidence(() => fleet.list().map(watched));
  await evidence.sample();
  const silentSince = Date.now();
  process.kill(node("stopped").nginx.pid as number, "SIGSTOP");
  process.kill(-(node("killed").nginx.pid as number), "SIGKILL");
  await new Promise((resolve) => setTimeout(resolve, 4000));

  const ids = ["receiving", "idle", "stopped", "killed"];
  const signs = await evidence.gone(
    ids.map((nodeId) => ({ nodeId, silentSince })),
    Date.now(),
  );
  expect(Object.fromEntries(ids.map((id) => [id, signs.get(id)?.kind ?? "none"]))).toEqual({
    receiving: "none",
    idle: "traffic",
    stopped: "traffic",
    killed: "machine",
  });
  expect(camera.running).toBe(true);
});
