/**
 * A media node booted for real: a Debian 12 root filesystem with systemd (debootstrap), booted by
 * systemd-nspawn on this machine's network, that runs the launch template's own user data at boot
 * as cloud-init does on EC2 (decompressed first when it is gzip). What the instance would ask of AWS (metadata, SSM, the API) is served
 * by stand-ins on 127.0.0.1, which the container reaches as the host's loopback.
 *
 * The root filesystem is built once and kept in `.tmp/node-rootfs/<hash of its recipe>` (ignored by git); each boot
 * runs on a throwaway overlay of it (`--volatile=overlay`), so a boot never changes the cache.
 * Needs root, debootstrap and systemd-container (scripts/setup.sh installs them).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const CACHE = path.join(ROOT, ".tmp/node-rootfs");
/** Where a boot's user data and test settings are, inside the container (bound read-only). */
export const USER_DATA_DIR = "/var/lib/user-data";

/**
 * How the root filesystem is made: Debian 12 minbase, systemd, and what an Ubuntu cloud image
 * always has and the user data uses before it installs anything (python3, curl, CA certificates).
 */
const DEBOOTSTRAP = [
  "--variant=minbase",
  "--include=systemd,systemd-sysv,dbus,python3,curl,ca-certificates",
  "bookworm",
];
const MIRROR = "http://deb.debian.org/debian";
/** Where the stand-in for cloud-init puts the user data it runs (decompressed). */
const USER_DATA_SCRIPT = "/run/user-data";
/**
 * cloud-init's part, as far as the node is concerned: run the user data once, as root, at boot.
 * As cloud-init does, user data that gunzip accepts is decompressed (anything else is taken as it
 * is), then run as a program, its #! line choosing the interpreter.
 */
const USER_DATA_UNIT = `[Unit]
Description=The instance's user data, run as cloud-init runs it on EC2
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
EnvironmentFile=${USER_DATA_DIR}/env
ExecStartPre=/bin/sh -c 'gzip -dc ${USER_DATA_DIR}/user-data >${USER_DATA_SCRIPT} 2>/dev/null || cp ${USER_DATA_DIR}/user-data ${USER_DATA_SCRIPT}'
ExecStartPre=/bin/chmod 0700 ${USER_DATA_SCRIPT}
ExecStart=${USER_DATA_SCRIPT}
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
`;

/** The cached root filesystem, built first if it is not there (about a minute and a half). */
export function nodeRootfs(log: (line: string) => void = () => undefined): { dir: string; built: boolean } {
  const key = createHash("sha256")
    .update(JSON.stringify([DEBOOTSTRAP, MIRROR, USER_DATA_UNIT]))
    .digest("hex")
    .slice(0, 16);
  const dir = path.join(CACHE, key);
  if (existsSync(path.join(dir, "etc/systemd/system/user-data.service"))) return { dir, built: false };
  const building = `${dir}.building`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(CACHE, { recursive: true });
  log(`building the node's root filesystem in ${dir} (debootstrap ${DEBOOTSTRAP.join(" ")})`);
  execFileSync("debootstrap", [...DEBOOTSTRAP, building, MIRROR], { stdio: ["ignore", "ignore", "pipe"] });
  writeFileSync(path.join(building, "etc/systemd/system/user-data.service"), USER_DATA_UNIT);
  execFileSync("ln", [
    "-s",
    "/etc/systemd/system/user-data.service",
    path.join(building, "etc/systemd/system/multi-user.target.wants/user-data.service"),
  ]);
  renameSync(building, dir);
  return { dir, built: true };
}

/** A booted container. */
export class NodeContainer {
  private output = "";
  private exitCode: number | null | undefined;

  private constructor(
    private readonly nspawn: ChildProcess,
    readonly startedAt: number,
  ) {
    const collect = (chunk: Buffer) => {
      this.output += chunk.toString();
    };
    nspawn.stdout?.on("data", collect);
    nspawn.stderr?.on("data", collect);
    nspawn.once("exit", (code) => {
      this.exitCode = code;
    });
  }

  /**
   * Boots `rootfs` with `userData` as the instance's user data (the bytes EC2 would hand over) and
   * `env` in its environment (the bootstrap's test settings). `dir` (on the host) holds them; it is
   * bound read-only in the container at USER_DATA_DIR, with `files` beside them (e.g. a CA
   * certificate).
   */
  static boot(
    rootfs: string,
    dir: string,
    userData: Buffer,
    env: Record<string, string>,
    files: Record<string, string> = {},
  ): NodeContainer {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "user-data"), userData);
    writeFileSync(
      path.join(dir, "env"),
      Object.entries(env)
        .map(([name, value]) => `${name}=${value}\n`)
        .join(""),
    );
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    const nspawn = spawn(
      "systemd-nspawn",
      [
        // No machine registration (this host's PID 1 is not systemd), and no unit of its own.
        ...["--register=no", "--keep-unit", "--console=pipe", "--quiet"],
        ...["-D", rootfs, "--volatile=overlay", `--bind-ro=${dir}:${USER_DATA_DIR}`],
        // The node installs its nftables rule: in the host's network namespace, which it shares.
        ...["--capability=CAP_NET_ADMIN", "-b"],
      ],
      { stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    return new NodeContainer(nspawn, Date.now());
  }

  /** The console so far: systemd's boot, and the user data's output. */
  get console(): string {
    return this.output;
  }

  /** The container's init (its PID 1) as this host sees it, once it runs. */
  private init(): number {
    const child = execFileSync("pgrep", ["-P", String(this.nspawn.pid)], { encoding: "utf8" })
      .trim()
      .split("\n")[0];
    if (!child) throw new Error(`the container is not running (exit ${this.exitCode}):\n${this.output}`);
    return Number(child);
  }

  /** Runs a command inside the container; resolves with its output and exit code (never throws). */
  exec(command: string[]): { code: number; out: string } {
    try {
      const out = execFileSync("nsenter", ["-t", String(this.init()), "-a", ...command], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
      return { code: 0, out };
    } catch (error) {
      const failed = error as { status?: number; stdout?: string; stderr?: string; message: string };
      return { code: failed.status ?? 1, out: `${failed.stdout ?? ""}${failed.stderr ?? failed.message}` };
    }
  }

  /** Removes the node's nftables table (`inet rtmp_node`, see bootstrap.sh) from this host's network. */
  static removeFirewallTable(): void {
    spawnSync("nft", ["delete", "table", "inet", "rtmp_node"], { stdio: "ignore" });
  }

  /** Powers the container off and waits for it, killing it after 30 s; nothing of it is left. */
  async stop(): Promise<void> {
    if (this.exitCode !== undefined || this.nspawn.pid === undefined) return;
    const exited = new Promise<void>((resolve) => this.nspawn.once("exit", () => resolve()));
    // systemd-nspawn turns SIGTERM into a clean poweroff of the container.
    this.nspawn.kill("SIGTERM");
    const timer = setTimeout(() => {
      try {
        process.kill(this.init(), "SIGKILL");
      } catch {
        // gone already
      }
      this.nspawn.kill("SIGKILL");
    }, 30_000);
    await exited;
    clearTimeout(timer);
  }
}
