/**
 * What the agent's `cpuPercent` means (docs/NODE.md): the CPU of the nginx whose stat page it
 * reads (the worker the page names, and its master), in percent of ONE core, the most a single
 * worker can use; or of its cgroup's quota when that is less. A busy process stands in for the
 * worker, an idle one for its master, and a stand-in shim serves a stat page that names the worker.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type CpuQuota, cpuQuotaCgroup } from "../support/cpu-quota";
import { waitFor } from "../support/local-mode";
import { type HeartbeatReport, type StandInApi, startStandInApi } from "../support/stand-in-api";

const ROOT = path.resolve(__dirname, "../..");
const SHIM_TOKEN = "agent-cpu-shim-token";
let shimTokenFile: string;
const agent = (shim: string) => [
  "media-node/agent.py",
  "--shim",
  shim,
  "--shim-token-file",
  shimTokenFile,
  "--rtmp-base-url",
  "rtmp://203.0.113.7:1935/live",
];

beforeAll(() => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "rtmp-fleet-agent-cpu-"));
  shimTokenFile = path.join(dir, "shim-token");
  writeFileSync(shimTokenFile, `${SHIM_TOKEN}\n`, { mode: 0o600 });
});

afterAll(() => rmSync(path.dirname(shimTokenFile), { recursive: true, force: true }));

/** An idle "master" whose one child, the "worker", spins; both in `cgroup` when given. */
function busyWorker(cgroup?: CpuQuota): ChildProcess {
  const join = cgroup ? `echo $$ > "${cgroup.dir}/cgroup.procs"; ` : "";
  return spawn("sh", ["-c", `${join}python3 -c 'while True: pass' & wait`], { stdio: "ignore", detached: true });
}

/** CPU seconds a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(")").at(-1)?.trim().split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const stat = (pid: number) =>
  `<?xml version="1.0" encoding="utf-8" ?><rtmp><pid>${pid}</pid><server><application><name>live</name><live></live></application></server></rtmp>`;

/** The agent's one heartbeat (`--once`) about a stat page that names `workerPid`. */
async function heartbeatAbout(workerPid: number): Promise<HeartbeatReport> {
  const shim: StandInApi = await startStandInApi({ stat: () => stat(workerPid), shimToken: SHIM_TOKEN });
  try {
    await new Promise<void>((resolve, reject) =>
      execFile("python3", [...agent(shim.url), "--once"], { cwd: ROOT }, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    const [report] = shim.heartbeats();
    if (!report) throw new Error("no heartbeat");
    return report;
  } finally {
    await shim.close();
  }
}

/**
 * What the agent reports about a worker over two heartbeat periods, beside the cores that worker
 * really used in the same periods (read as each heartbeat arrives): a shared machine gives a
 * spinning process whatever share it can, so the test compares the report with that share.
 */
async function reportAndShare(workerPid: number): Promise<{ reported: number; cores: number }> {
  const shim = await startStandInApi({ stat: () => stat(workerPid), shimToken: SHIM_TOKEN });
  const running = spawn("python3", [...agent(shim.url), "--interval", "2"], { cwd: ROOT, stdio: "ignore" });
  try {
    const marks: { cpu: number; at: number }[] = [];
    while (marks.length < 3) {
      if (shim.heartbeats().length > marks.length) marks.push({ cpu: cpuSeconds(workerPid), at: performance.now() });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const [first, , last] = marks as [(typeof marks)[0], unknown, (typeof marks)[0]];
    const [, second, third] = shim.heartbeats();
    return {
      reported: ((second?.cpuPercent ?? Number.NaN) + (third?.cpuPercent ?? Number.NaN)) / 2,
      cores: (last.cpu - first.cpu) / ((last.at - first.at) / 1000),
    };
  } finally {
    running.kill("SIGKILL");
    await shim.close();
  }
}

async function childOf(parent: ChildProcess): Promise<number> {
  return waitFor("the busy child", async () => {
    const out = execFileSync("pgrep", ["-P", String(parent.pid)], { encoding: "utf8" }).trim();
    return out ? Number(out.split("\n")[0]) : undefined;
  });
}

describe("the agent's CPU", () => {
  const started: ChildProcess[] = [];
  let quota: CpuQuota | undefined;

  afterEach(() => {
    for (const child of started.splice(0)) if (child.pid) process.kill(-child.pid, "SIGKILL");
  });

  afterAll(async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    quota?.remove();
  });

  it("is the named worker's in percent of ONE core, not of the machine's cores", async () => {
    const master = busyWorker();
    started.push(master);
    const { reported, cores } = await reportAndShare(await childOf(master));
    // Within a sixth of the share it really had (plus the clock's 10 ms ticks): half of it would
    // be the CPU in percent of this machine's 2 cores.
    expect(Math.abs(reported - 100 * cores)).toBeLessThanOrEqual((100 * cores) / 6 + 2);
  });

  it("is in percent of the quota when a cgroup gives nginx less than a core", async () => {
    quota = cpuQuotaCgroup(0.1, `rtmp-fleet-agent-test-${process.pid}`);
    const master = busyWorker(quota);
    started.push(master);
    const { reported, cores } = await reportAndShare(await childOf(master));
    expect(cores).toBeLessThan(0.11);
    // In percent of the 0.1 core it may use: a worker at its whole quota reports 100, not 10.
    const ofQuota = (100 * cores) / 0.1;
    expect(Math.abs(reported - ofQuota)).toBeLessThanOrEqual(ofQuota / 6 + 3);
  });

  it("is about 0 for an idle worker, and absent when the page names no process the agent can see", async () => {
    const idle = spawn("sleep", ["30"], { detached: true, stdio: "ignore" });
    started.push(idle);
    expect((await heartbeatAbout(idle.pid as number)).cpuPercent).toBeLessThan(5);
    const gone = await heartbeatAbout(2 ** 22 + 1);
    expect(gone).not.toHaveProperty("cpuPercent");
  });
});
