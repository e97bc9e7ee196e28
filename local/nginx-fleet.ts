/**
 * Local media nodes: each instance of the local group is a real nginx with the rtmp module, on
 * free loopback ports, rendered by media-node/render_node.py from the same templates and settings
 * as an AWS node (only ports, paths and identity differ), with media-node/agent.py as its
 * heartbeat (measuring the CPU of that nginx's own processes, as on AWS).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import type { InstanceLauncher } from "../lambdas/adapters/process-group";

/** The repository's media-node directory: the same files an AWS node runs. */
export const MEDIA_NODE_DIR = path.resolve(__dirname, "../media-node");

/** Where Debian's libnginx-mod-rtmp puts the module. */
export const RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/** Where Debian's libnginx-mod-stream puts nginx's TCP proxy module (local mode's fixed ingest address). */
export const STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so";

/**
 * The name of the fixed ingest address's nginx (`local/ingest-proxy.ts`): its directory beside the
 * nodes' in a run's directory, its config, pid file and error log.
 */
export const INGEST_NGINX = "ingest";

/** The CAs a shim trusts for an HTTPS API unless told otherwise: Debian's and Ubuntu's bundle. */
export const SYSTEM_CA_FILE = "/etc/ssl/certs/ca-certificates.crt";

/** How to get what local mode needs on Debian or Ubuntu. */
export const INSTALL_HINT =
  "sudo apt-get install nginx libnginx-mod-rtmp libnginx-mod-stream ffmpeg python3 (or run ./scripts/run.sh, which does it)";

/**
 * Checks that nginx, its rtmp and stream modules and python3 are here.
 * @returns the problems found, each with how to fix it; empty when all is well
 */
export function missingPrerequisites(): string[] {
  const problems: string[] = [];
  const has = (command: string, args: string[]) => {
    try {
      execFileSync(command, args, { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  };
  if (!has("nginx", ["-v"])) problems.push("nginx is not installed");
  if (!existsSync(RTMP_MODULE)) problems.push(`the nginx rtmp module is not installed (${RTMP_MODULE})`);
  if (!existsSync(STREAM_MODULE)) problems.push(`the nginx stream module is not installed (${STREAM_MODULE})`);
  if (!has("python3", ["--version"])) problems.push("python3 is not installed");
  return problems;
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** What makes a local node itself: its ports and identity (its paths follow from its directory). */
export interface LocalNodeIdentity {
  readonly rtmpPort: number;
  readonly statPort: number;
  readonly shimPort: number;
  readonly apiUrl: string;
  readonly nodeId: string;
  readonly secret: string;
  /** The CAs the shim trusts for the API's certificate (default: the system's). */
  readonly apiCaFile?: string;
}

/**
 * Renders a local node's configuration into `dir` (created, with its run/ and log/ directories)
 * with media-node/render_node.py, as bootstrap.sh renders an AWS node's: only ports, paths and
 * identity are given, every setting comes from the templates; the renderer draws the shim's token.
 * @returns the shim's token
 */
export function renderLocalNode(dir: string, node: LocalNodeIdentity): string {
  // The owner's only, as on AWS: the configs, the token and logs that may quote it.
  for (const sub of ["run", "log"]) mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o700 });
  execFileSync(
    "python3",
    [
      path.join(MEDIA_NODE_DIR, "render_node.py"),
      dir,
      `RUN_DIR=${path.join(dir, "run")}`,
      `LOG_DIR=${path.join(dir, "log")}`,
      `RTMP_LISTEN=127.0.0.1:${node.rtmpPort}`,
      `STAT_PORT=${node.statPort}`,
      `SHIM_PORT=${node.shimPort}`,
      // Unused: the API's URL is an IP address in local mode.
      "RESOLVER=127.0.0.1",
      `API_URL=${node.apiUrl}`,
      `API_CA_FILE=${node.apiCaFile ?? SYSTEM_CA_FILE}`,
      `NODE_ID=${node.nodeId}`,
      "NODE_SECRET=-",
    ],
    { input: `${node.secret}\n` },
  );
  return readFileSync(shimTokenFile(dir), "utf8").trim();
}

/** Where render_node.py writes the shim's token in a node's directory (the agent reads it there). */
export function shimTokenFile(dir: string): string {
  return path.join(dir, "shim-token");
}

/** The arguments that point nginx at `dir/<name>.conf`, with `dir` as its prefix and its error log in `dir/log`. */
export function nginxFiles(dir: string, name: string): string[] {
  return ["-c", path.join(dir, `${name}.conf`), "-p", `${dir}/`, "-e", path.join(dir, `log/${name}-error.log`)];
}

/**
 * Starts nginx on `dir/<name>.conf` in the foreground, in its own process group, so that stopping
 * (or killing) it takes its workers along; in `cgroup` first when one is given.
 */
export function startNginx(dir: string, name: string, cgroup?: string): ChildProcess {
  const command = ["nginx", ...nginxFiles(dir, name), "-g", "daemon off;"];
  const [file = "", ...args] = cgroup
    ? ["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...command]
    : command;
  return spawn(file, args, { detached: true, stdio: ["ignore", "ignore", "pipe"] });
}

/** One running local node. */
export interface LocalNode {
  readonly instanceId: string;
  readonly dir: string;
  readonly rtmpPort: number;
  readonly shimPort: number;
  /** The rtmp nginx's stat page, on loopback (its path starts with the shim's token). */
  readonly statUrl: string;
  /** The token every path of the node's shim (and stat page) starts with. */
  readonly shimToken: string;
  readonly rtmpBaseUrl: string;
  /** The rtmp nginx (cameras, the stat page). */
  readonly nginx: ChildProcess;
  /** The shim's nginx (callbacks and heartbeats to the control plane). */
  readonly shim: ChildProcess;
  readonly agent: ChildProcess;
}

/** How local nodes are set up. */
export interface LocalFleetOptions {
  /** Where each node gets its directory (config, pid, logs). */
  readonly workDir: string;
  /** The control plane's URL, which the shims forward to. */
  readonly apiUrl: () => string;
  /** Each node's secret, as issued for its launch (the fleet's node credentials). */
  readonly secretOf: (instanceId: string) => string;
  readonly heartbeatSeconds: number;
  /** Lines for the operator. */
  readonly log: (line: string) => void;
  /**
   * A cgroup directory (v1 or v2) that each node's nginx joins before it starts: the node
   * benchmark gives nginx a CPU quota this way, and the agent measures against that quota.
   */
  readonly nginxCgroup?: string;
  /** The CAs the shims trust for an HTTPS API (default: the system's). */
  readonly apiCaFile?: string;
}

/** Launches and stops local nginx-rtmp nodes. */
export class LocalNginxFleet implements InstanceLauncher {
  private readonly nodes = new Map<string, LocalNode>();
  private stopping = false;

  constructor(private readonly options: LocalFleetOptions) {
    mkdirSync(options.workDir, { recursive: true });
  }

  list(): LocalNode[] {
    return [...this.nodes.values()];
  }

  async start(instanceId: string): Promise<void> {
    const dir = path.join(this.options.workDir, instanceId);
    rmSync(dir, { recursive: true, force: true });
    const [rtmpPort, statPort, shimPort] = [await freePort(), await freePort(), await freePort()];
    const shimToken = renderLocalNode(dir, {
      rtmpPort,
      statPort,
      shimPort,
      apiUrl: this.options.apiUrl(),
      nodeId: instanceId,
      secret: this.options.secretOf(instanceId),
      apiCaFile: this.options.apiCaFile,
    });
    const nginx = startNginx(dir, "rtmp", this.options.nginxCgroup);
    const shim = startNginx(dir, "shim");
    const rtmpBaseUrl = `rtmp://127.0.0.1:${rtmpPort}/live`;
    const agent = spawn(
      "python3",
      [
        path.join(MEDIA_NODE_DIR, "agent.py"),
        "--shim",
        `http://127.0.0.1:${shimPort}`,
        "--shim-token-file",
        shimTokenFile(dir),
        "--rtmp-base-url",
        rtmpBaseUrl,
        "--interval",
        String(this.options.heartbeatSeconds),
      ],
      { detached: true, stdio: ["ignore", "ignore", "pipe"] },
    );
    const statUrl = `http://127.0.0.1:${statPort}/${shimToken}/stat`;
    const node: LocalNode = {
      instanceId,
      dir,
      rtmpPort,
      shimPort,
      statUrl,
      shimToken,
      rtmpBaseUrl,
      nginx,
      shim,
      agent,
    };
    this.nodes.set(instanceId, node);
    const report = (what: string) => (code: number | null, signal: NodeJS.Signals | null) => {
      if (!this.stopping && this.nodes.get(instanceId) === node) {
        this.options.log(`${instanceId}: ${what} exited (${signal ?? `code ${code}`})`);
      }
    };
    nginx.on("exit", report("nginx"));
    shim.on("exit", report("shim nginx"));
    agent.on("exit", report("agent"));
    const forward = (prefix: string) => (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) if (line.trim()) this.options.log(`${prefix}${line.trim()}`);
    };
    nginx.stderr?.on("data", forward(`${instanceId} nginx: `));
    shim.stderr?.on("data", forward(`${instanceId} shim nginx: `));
    agent.stderr?.on("data", forward(`${instanceId} `));
    this.options.log(`${instanceId}: nginx-rtmp on ${rtmpBaseUrl}, shim on 127.0.0.1:${shimPort}`);
  }

  async stop(instanceId: string): Promise<void> {
    const node = this.nodes.get(instanceId);
    if (!node) return;
    this.nodes.delete(instanceId);
    await Promise.all([
      stopGroup(node.agent, "SIGTERM"),
      stopGroup(node.nginx, "SIGQUIT"),
      stopGroup(node.shim, "SIGQUIT"),
    ]);
    rmSync(node.dir, { recursive: true, force: true });
    this.options.log(`${instanceId}: stopped`);
  }

  /** Stops every node and removes their files (at exit). */
  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.list().map((node) => this.stop(node.instanceId)));
    rmSync(this.options.workDir, { recursive: true, force: true });
  }

  /** Kills every node's processes at once, synchronously (the last resort at process exit). */
  killAllNow(): void {
    for (const node of this.nodes.values()) {
      for (const child of [node.agent, node.nginx, node.shim]) killGroup(child, "SIGKILL");
    }
  }

  /**
   * Stops nginx processes left behind by an earlier local mode that was killed before it could
   * clean up: each run keeps its nodes (and its ingest proxy) under `run-<its pid>`, so a run whose
   * process is gone is stale.
   */
  static reapStale(workDir: string, log: (line: string) => void): void {
    if (!existsSync(workDir)) return;
    for (const run of readdirSync(workDir)) {
      const owner = Number(/^run-(\d+)$/.exec(run)?.[1]);
      if (!Number.isInteger(owner) || processAlive(owner)) continue;
      const runDir = path.join(workDir, run);
      for (const node of readdirSync(runDir)) {
        for (const name of ["rtmp", "shim", INGEST_NGINX]) {
          const pidFile = path.join(runDir, node, `run/${name}.pid`);
          const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : Number.NaN;
          if (!Number.isInteger(pid) || !processAlive(pid)) continue;
          for (const target of [-pid, pid]) {
            try {
              process.kill(target, "SIGKILL");
            } catch {
              // not a group leader, or gone
            }
          }
          log(`stopped a stray nginx (pid ${pid}) left by an earlier run in ${path.join(runDir, node)}`);
        }
      }
      rmSync(runDir, { recursive: true, force: true });
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Signals the child's whole process group (it leads one: spawned detached), if any member is left. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

/** Signals a child's process group and waits for the child to exit, killing the group after 5 s. */
export async function stopGroup(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.pid === undefined) return;
  const exited =
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => child.once("exit", () => resolve()));
  killGroup(child, signal);
  const timer = setTimeout(() => killGroup(child, "SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
  // Workers of a master that was killed outright are still in its group: make sure they go too.
  killGroup(child, "SIGKILL");
}
