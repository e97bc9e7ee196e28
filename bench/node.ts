/**
 * `npm run bench:node`: one local node rendered the AWS way (one nginx worker, the same templates),
 * real ffmpeg cameras added two at a time, and the node's own agent reporting through its shim to
 * a stand-in API. It shows at how many cameras the node reports full (its agent's CPU at the
 * 80% threshold) and at how many nginx saturates and the cameras fall behind real time (a real
 * camera, which cannot wait, then drops frames). Writes its section of docs/BENCHMARKS.md.
 *
 * This 2-core machine cannot load a whole core of nginx-rtmp with real processes: a 4 Mbit/s
 * camera costs nginx about 0.2% of a core, and the ffmpeg processes that feed it cost more. So the
 * node's nginx runs in a cgroup with a CPU quota (BENCH_NODE_QUOTA cores, default 0.02), and the
 * agent measures against that quota as it would against a whole core: the same code, a smaller
 * core. Needs root (it creates the cgroup). BENCH_NODE_MAX_CAMERAS caps the run (default 40).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DEFAULT_FLEET_CONFIG } from "../lambdas/core/config";
import { LocalNginxFleet } from "../local/nginx-fleet";
import { cpuQuotaCgroup } from "../test/support/cpu-quota";
import { Camera, encodeClip } from "../test/support/local-mode";
import { startStandInApi } from "../test/support/stand-in-api";
import { machine, markdownTable, writeSection } from "./markdown";

const QUOTA_CORES = Number(process.env.BENCH_NODE_QUOTA ?? 0.02);
const MAX_CAMERAS = Number(process.env.BENCH_NODE_MAX_CAMERAS ?? 40);
const STEP = Number(process.env.BENCH_NODE_STEP ?? 2);
const PLAYERS = Number(process.env.BENCH_NODE_PLAYERS ?? 1);
const SETTLE_MS = 6_000;
const WINDOW_MS = 30_000;
/** CPU time is counted in 10 ms ticks: at 0.02 core, a 10 s heartbeat measures it to 5%. */
const HEARTBEAT_SECONDS = 10;
/** A camera is behind once it lags real time by this much more at the end of a window than at its start. */
const BEHIND_MS = 500;
const CLIP = { size: "1280x720", rate: 25, bitrate: "4000k", seconds: 10, noise: true };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the stat page says of one stream: bytes received, how far its camera's media lags the wall clock (ms), frames dropped for its players. */
interface StreamStat {
  bytesIn: number;
  lagMs: number;
  dropped: number;
}

function streamStats(stat: string): Map<string, StreamStat> {
  const streams = new Map<string, StreamStat>();
  for (const [, block = ""] of stat.matchAll(/<stream>([\s\S]*?)<\/stream>/g)) {
    const name = /<name>([^<]*)<\/name>/.exec(block)?.[1];
    if (!name) continue;
    const stream = { bytesIn: Number(/<bytes_in>(\d+)<\/bytes_in>/.exec(block)?.[1]), lagMs: 0, dropped: 0 };
    for (const [, client = ""] of block.matchAll(/<client>([\s\S]*?)<\/client>/g)) {
      const field = (tag: string) => Number(new RegExp(`<${tag}>(-?\\d+)</${tag}>`).exec(client)?.[1] ?? 0);
      if (client.includes("<publishing/>")) stream.lagMs = field("time") - field("timestamp");
      else stream.dropped += field("dropped");
    }
    streams.set(name, stream);
  }
  return streams;
}

/** A viewer: ffmpeg playing a stream from the node and throwing it away, until stopped. */
function player(url: string): ChildProcess {
  return spawn("ffmpeg", ["-hide_banner", "-loglevel", "error", "-i", url, "-c", "copy", "-f", "null", "-"], {
    stdio: "ignore",
  });
}

interface Step {
  cameras: number;
  offeredMbps: number;
  cpu: number;
  throttledPercent: number;
  ingestPercent: number;
  behind: number;
  dropped: number;
  cut: number;
  machineBusyPercent: number;
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("bench:node needs root: it gives the node's nginx a cgroup CPU quota");
  const threshold = DEFAULT_FLEET_CONFIG.cpuThresholdPercent;
  const workDir = mkdtempSync(path.join(os.tmpdir(), "rtmp-fleet-bench-node-"));
  const clip = encodeClip(path.join(workDir, "clip.flv"), CLIP);
  const clipBytesPerSecond = statSync(clip).size / CLIP.seconds;
  const cgroup = cpuQuotaCgroup(QUOTA_CORES, `rtmp-fleet-bench-${process.pid}`);
  const api = await startStandInApi();
  const fleet = new LocalNginxFleet({
    workDir: path.join(workDir, "nodes"),
    apiUrl: () => api.url,
    secretOf: () => "bench-node-secret-0123",
    heartbeatSeconds: HEARTBEAT_SECONDS,
    log: () => undefined,
    nginxCgroup: cgroup.dir,
  });
  const cameras: Camera[] = [];
  const players: ChildProcess[] = [];
  const steps: Step[] = [];
  try {
    await fleet.start("bench-1");
    const [node] = fleet.list();
    if (!node) throw new Error("the node did not start");
    while (!api.heartbeats().some((beat) => beat.ready)) await sleep(200);
    const stat = async () => streamStats(await (await fetch(node.statUrl)).text());
    let behindSteps = 0;
    while (cameras.length < MAX_CAMERAS && behindSteps < 2) {
      for (let i = 0; i < STEP; i++) {
        const name = `cam${cameras.length + 1}`;
        cameras.push(new Camera(name, `${node.rtmpBaseUrl}/${name}`, clip));
        for (let p = 0; p < PLAYERS; p++) players.push(player(`${node.rtmpBaseUrl}/${name}`));
      }
      await sleep(SETTLE_MS);
      const [before, throttledBefore, beatsBefore, machineBefore] = [
        await stat(),
        cgroup.throttled(),
        api.heartbeats().length,
        machineTicks(),
      ];
      const started = Date.now();
      await sleep(WINDOW_MS);
      const [after, throttledAfter, machineAfter] = [await stat(), cgroup.throttled(), machineTicks()];
      const seconds = (Date.now() - started) / 1000;
      const beats = api.heartbeats().slice(beatsBefore);
      const live = cameras.filter((c) => c.running).length;
      const received = [...after].reduce(
        (sum, [name, s]) => sum + s.bytesIn - (before.get(name)?.bytesIn ?? s.bytesIn),
        0,
      );
      const behind = [...after].filter(
        ([name, s]) => s.lagMs - (before.get(name)?.lagMs ?? s.lagMs) > BEHIND_MS,
      ).length;
      const dropped = [...after].reduce((sum, [name, s]) => sum + s.dropped - (before.get(name)?.dropped ?? 0), 0);
      const step: Step = {
        cameras: cameras.length,
        offeredMbps: (cameras.length * clipBytesPerSecond * 8) / 1e6,
        cpu: median(beats.map((b) => b.cpuPercent ?? Number.NaN)),
        throttledPercent:
          (100 * (throttledAfter.throttled - throttledBefore.throttled)) /
          Math.max(1, throttledAfter.periods - throttledBefore.periods),
        ingestPercent: (100 * received) / (live * clipBytesPerSecond * seconds),
        behind,
        dropped,
        cut: cameras.length - live,
        machineBusyPercent:
          (100 * (machineAfter.busy - machineBefore.busy)) / (machineAfter.total - machineBefore.total),
      };
      steps.push(step);
      console.log(JSON.stringify(step));
      behindSteps = behind > 0 || dropped > 0 ? behindSteps + 1 : 0;
    }
  } finally {
    for (const p of players) p.kill("SIGKILL");
    await Promise.all(cameras.map((c) => c.stop()));
    await fleet.stopAll();
    await api.close();
    cgroup.remove();
    rmSync(workDir, { recursive: true, force: true });
  }

  const full = steps.find((s) => s.cpu >= threshold);
  const saturated = steps.find((s) => s.behind > 0 || s.dropped > 0);
  const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
  const table = markdownTable(
    [
      "cameras",
      "offered (Mbit/s)",
      "reported CPU (% of the worker's core)",
      "CFS periods throttled (%)",
      "received (% of offered)",
      "cameras behind real time",
      "frames dropped for players",
      "cameras cut",
      "machine busy (%)",
    ],
    steps.map((s) => [
      s.cameras,
      fmt(s.offeredMbps),
      fmt(s.cpu),
      fmt(s.throttledPercent),
      fmt(s.ingestPercent),
      s.behind,
      s.dropped,
      s.cut,
      fmt(s.machineBusyPercent, 0),
    ]),
  );
  const verdict =
    full && (!saturated || full.cameras < saturated.cameras)
      ? `The node reports full (${threshold}%) at ${full.cameras} cameras; nginx first falls behind at ${saturated ? `${saturated.cameras} cameras` : `none of the ${steps.at(-1)?.cameras} tried`}: the scale-out signal comes first.`
      : `NOT AS EXPECTED: full at ${full?.cameras ?? "never"}, behind at ${saturated?.cameras ?? "never"}.`;
  writeSection(
    "node",
    [
      `Command: \`npm run bench:node\` (${machine()}; root). One local node rendered the AWS way (one nginx worker), its rtmp nginx in a cgroup with a CPU quota of ${QUOTA_CORES} core; cameras are ffmpeg processes looping a ${CLIP.size} ${CLIP.rate} fps clip of ${fmt((clipBytesPerSecond * 8) / 1e6, 2)} Mbit/s by copy, added ${STEP} at a time, each with ${PLAYERS} ffmpeg player(s); each row is a ${WINDOW_MS / 1000} s window after ${SETTLE_MS / 1000} s of settling.`,
      "",
      `Why a quota: this 2-core machine cannot load a whole core of nginx-rtmp with real processes (a ${fmt((clipBytesPerSecond * 8) / 1e6, 0)} Mbit/s camera costs nginx a fraction of a percent of a core; its ffmpeg costs more). With the quota, the node's worker has a small core, and the agent measures against it exactly as it measures against a whole core on AWS (media-node/agent.py reads the quota of nginx's cgroup). Reported CPU is the median of the agent's heartbeats (every ${HEARTBEAT_SECONDS} s) in the window, in percent of what the worker may use; CFS periods throttled is how often nginx used up its quota. A camera is behind real time when its media lags the wall clock by ${BEHIND_MS} ms more at the end of the window than at its start (nginx reads it slower than it films: a real camera, which cannot wait, drops those frames); frames dropped for players are nginx-rtmp's own count (a player's queue overflowed). Machine busy shows whether the machine itself, not nginx, ran out of CPU.`,
      "",
      table,
      "",
      verdict,
    ].join("\n"),
  );
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
