/**
 * Local mode's fixed ingest address, for cameras that cannot ask where to publish: one TCP port on
 * 127.0.0.1 where an nginx `stream {}` proxy passes every new connection to the one node placement
 * chooses now. When the choice changes, its config is rewritten and nginx reloaded: the reload
 * starts workers with the new upstream and lets the old ones go on serving the connections they
 * hold until those close ("graceful shutdown" of old workers, nginx's "Controlling nginx"), so a
 * camera already publishing stays on its node and only new connections go to the new one.
 */
import { type ChildProcess, execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { type IngestAddress, ingestBaseUrl } from "../lambdas/core/ingest";
import { INGEST_NGINX, killGroup, nginxFiles, STREAM_MODULE, startNginx, stopGroup } from "./nginx-fleet";

/** Where the proxy sends new cameras: a node and its RTMP port on 127.0.0.1. */
export interface IngestTarget {
  readonly nodeId: string;
  readonly rtmpPort: number;
}

/** What the status views show of the fixed address. */
export interface IngestStatus {
  /** The RTMP base URL cameras publish to (`<address>/<stream>?key=...`). */
  readonly address: string;
  /** The node new cameras go to now; null: none has room (a camera is closed at once and retries). */
  readonly target: string | null;
}

/**
 * The proxy's nginx config. Without a target, a connection is closed at once (a camera retries)
 * rather than held on a node that would refuse it.
 */
export function renderIngestConfig(dir: string, port: number, target: IngestTarget | undefined): string {
  const upstream = target
    ? `proxy_pass 127.0.0.1:${target.rtmpPort}; # ${target.nodeId}\n    proxy_connect_timeout 5s;`
    : `return ""; # no node has room`;
  return `load_module ${STREAM_MODULE};
pid ${path.join(dir, `run/${INGEST_NGINX}.pid`)};
error_log ${path.join(dir, `log/${INGEST_NGINX}-error.log`)} warn;
worker_processes 1;
events { worker_connections 1024; }
stream {
  server {
    listen 127.0.0.1:${port};
    ${upstream}
  }
}
`;
}

/** True once something accepts connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** The running proxy. `start` it, point it with `follow`, `stop` it with local mode. */
export class IngestProxy {
  private target: IngestTarget | undefined;

  private constructor(
    private readonly dir: string,
    private readonly port: number,
    private readonly nginx: ChildProcess,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Starts the proxy in `dir` on 127.0.0.1:`port`, pointing nowhere yet.
   * @throws Error with nginx's own message when it does not listen within 10 s (e.g. the port is taken)
   */
  static async start(dir: string, port: number, log: (line: string) => void): Promise<IngestProxy> {
    for (const sub of ["run", "log"]) mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o700 });
    writeFileSync(path.join(dir, `${INGEST_NGINX}.conf`), renderIngestConfig(dir, port, undefined));
    const nginx = startNginx(dir, INGEST_NGINX);
    let stderr = "";
    nginx.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const deadline = Date.now() + 10_000;
    while (!(await accepts(port))) {
      if (nginx.exitCode !== null || Date.now() > deadline) {
        await stopGroup(nginx, "SIGTERM");
        const logFile = path.join(dir, `log/${INGEST_NGINX}-error.log`);
        const errorLog = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
        throw new Error(`the ingest proxy on 127.0.0.1:${port} did not start: ${(stderr || errorLog).trim()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return new IngestProxy(dir, port, nginx, log);
  }

  /** Where cameras reach it: what `/resolve` answers as `fixedUrl`, as on AWS. */
  get address(): IngestAddress {
    return { host: "127.0.0.1", port: this.port, tls: false };
  }

  get status(): IngestStatus {
    return { address: ingestBaseUrl(this.address), target: this.target?.nodeId ?? null };
  }

  /**
   * Sends new connections to `target` from now on (none: closes them), by a reload when it differs
   * from the current one. Established connections stay where they are.
   */
  async follow(target: IngestTarget | undefined): Promise<void> {
    if (target?.nodeId === this.target?.nodeId && target?.rtmpPort === this.target?.rtmpPort) return;
    writeFileSync(path.join(this.dir, `${INGEST_NGINX}.conf`), renderIngestConfig(this.dir, this.port, target));
    await promisify(execFile)("nginx", [...nginxFiles(this.dir, INGEST_NGINX), "-s", "reload"]);
    this.target = target;
    this.log(
      target
        ? `ingest: new cameras on ${this.status.address} now go to ${target.nodeId}`
        : `ingest: no node has room; cameras on ${this.status.address} are closed until one has`,
    );
  }

  /** Stops nginx and its workers, old ones included, whatever they still carry (local mode is ending). */
  stop(): Promise<void> {
    return stopGroup(this.nginx, "SIGTERM");
  }

  /** Kills the proxy at once, synchronously (the last resort at process exit). */
  killNow(): void {
    killGroup(this.nginx, "SIGKILL");
  }
}
