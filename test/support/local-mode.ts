/**
 * Runs local mode (`local/main.ts`) as a child process for end-to-end tests, and cameras as real
 * ffmpeg processes publishing a test pattern.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { LOCAL_SECRETS } from "../../local/options";
import { CAMERA_MASTER_SECRET, OPERATOR_TOKEN, VIEWER_MASTER_SECRET } from "../../scripts/command-line";

const ROOT = path.resolve(__dirname, "../..");

/** A running local mode. */
export interface LocalMode {
  readonly url: string;
  readonly workDir: string;
  readonly process: ChildProcess;
  /** Everything it printed. */
  output(): string;
  /** Ctrl-C, and wait for it to exit. Returns its exit code. */
  stop(): Promise<number | null>;
}

/** The secrets local mode starts with, given as an operator gives them: in its environment. */
export interface LocalSecrets {
  readonly cameraSecret?: string;
  readonly operatorToken?: string;
  readonly viewerSecret?: string;
}

/** This process's environment with local mode's secrets set as given (none inherited). */
function localModeEnvironment(secrets: LocalSecrets): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" };
  for (const secret of LOCAL_SECRETS) delete env[secret.env];
  if (secrets.cameraSecret !== undefined) env[CAMERA_MASTER_SECRET.env] = secrets.cameraSecret;
  if (secrets.operatorToken !== undefined) env[OPERATOR_TOKEN.env] = secrets.operatorToken;
  if (secrets.viewerSecret !== undefined) env[VIEWER_MASTER_SECRET.env] = secrets.viewerSecret;
  return env;
}

/**
 * Starts local mode with these flags and secrets, its control plane and ingest address on free
 * ports; resolves once it prints its URL.
 */
export async function startLocalMode(
  flags: readonly string[],
  secrets: LocalSecrets = {},
  timeoutMs = 30_000,
): Promise<LocalMode> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), "rtmp-fleet-e2e-"));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "local/main.ts", "--port", "0", "--ingest-port", "0", "--work-dir", workDir, ...flags],
    { cwd: ROOT, env: localModeEnvironment(secrets), stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`local mode did not start in ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const check = () => {
      const match = /control plane on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`local mode exited with ${code}:\n${output}`));
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const code = await exited;
    clearTimeout(timer);
    rmSync(workDir, { recursive: true, force: true });
    return code;
  };
  return { url, workDir, process: child, output: () => output, stop };
}

/** Processes whose command line mentions `needle` (e.g. nginx started from a work dir). */
export function processesMatching(needle: string): string[] {
  try {
    return execFileSync("pgrep", ["-af", needle], { encoding: "utf8" })
      .split("\n")
      .filter((line) => line.trim() && !line.includes("pgrep"));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** Polls until `check` returns a value (not undefined/false), or fails with `what`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

/**
 * How a clip for `Camera` is encoded: a test pattern of this size, frame rate and video bitrate
 * (a cap: a still pattern needs less, unless `noise` makes every frame different).
 */
export interface ClipFormat {
  readonly size: string;
  readonly rate: number;
  readonly bitrate: string;
  readonly seconds: number;
  readonly noise?: boolean;
}

/**
 * Encodes a test pattern into an FLV file once, so that many cameras can publish it by copy
 * (`new Camera(name, url, clip)`) at almost no CPU: what they cost is then the media server's.
 */
export function encodeClip(
  file: string,
  format: ClipFormat = { size: "320x240", rate: 25, bitrate: "300k", seconds: 4 },
): string {
  execFileSync(
    "ffmpeg",
    [
      ...["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"],
      ...["-i", `testsrc=size=${format.size}:rate=${format.rate}${format.noise ? ",noise=alls=30:allf=t" : ""}`],
      ...["-t", String(format.seconds), "-c:v", "libx264", "-preset", "ultrafast", "-g", String(format.rate)],
      ...["-b:v", format.bitrate, "-maxrate", format.bitrate, "-bufsize", format.bitrate],
      ...["-pix_fmt", "yuv420p", "-f", "flv", file],
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  return file;
}

/**
 * A camera: ffmpeg publishing to an RTMP URL until stopped, in real time. It encodes a small test
 * pattern, or, given a clip (`encodeClip`), loops that clip without re-encoding it.
 */
export class Camera {
  readonly process: ChildProcess;
  private stderr = "";
  private stopRequested = false;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(
    readonly name: string,
    readonly rtmpUrl: string,
    clip?: string,
  ) {
    const source = clip
      ? ["-stream_loop", "-1", "-i", clip, "-c", "copy"]
      : [
          ...["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10"],
          ...["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "20"],
        ];
    this.process = spawn("ffmpeg", ["-hide_banner", "-loglevel", "error", "-re", ...source, "-f", "flv", rtmpUrl], {
      stdio: ["pipe", "ignore", "pipe"],
    });
    this.process.stderr?.on("data", (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.process.once("exit", (code, signal) => {
      this.exitInfo = { code, signal };
    });
  }

  /** Still publishing. */
  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Ended without being asked to: refused, or disconnected by the server. */
  get cut(): boolean {
    return this.exitInfo !== undefined && !this.stopRequested;
  }

  /** What ffmpeg printed (errors only). */
  get errors(): string {
    return this.stderr;
  }

  /** Resolves when ffmpeg exits, with its exit code. */
  exited(): Promise<number | null> {
    if (this.exitInfo) return Promise.resolve(this.exitInfo.code);
    return new Promise((resolve) => this.process.once("exit", (code) => resolve(code)));
  }

  /** The camera's own end: ffmpeg quits as a user would ('q'), killed if it does not within 5 s. */
  async stop(): Promise<void> {
    this.stopRequested = true;
    if (!this.running) return;
    this.process.stdin?.write("q");
    const timer = setTimeout(() => this.process.kill("SIGKILL"), 5000);
    await this.exited();
    clearTimeout(timer);
  }
}

/** What a player got: its exit code, how long it took (ms), what ffmpeg printed. */
export interface PlayResult {
  readonly code: number | null;
  readonly ms: number;
  readonly errors: string;
}

/**
 * A viewer: ffmpeg plays `url` and decodes `frames` video frames, then exits 0; a refused play
 * exits non-zero (nginx-rtmp closes the connection). Killed after `timeoutMs`.
 */
export function playFrames(url: string, frames: number, timeoutMs = 30_000): Promise<PlayResult> {
  const started = Date.now();
  const child = spawn(
    "ffmpeg",
    ["-hide_banner", "-loglevel", "error", "-i", url, "-frames:v", String(frames), "-f", "null", "-"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let errors = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    errors += chunk.toString();
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve) =>
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, ms: Date.now() - started, errors });
    }),
  );
}

/** A viewer that keeps watching: ffmpeg plays `url` (decoding, then dropping every frame) until stopped. */
export class Player {
  readonly process: ChildProcess;
  private exitCode: number | null | undefined;

  constructor(readonly url: string) {
    this.process = spawn("ffmpeg", ["-hide_banner", "-loglevel", "error", "-i", url, "-f", "null", "-"], {
      stdio: ["pipe", "ignore", "ignore"],
    });
    this.process.once("exit", (code) => {
      this.exitCode = code;
    });
  }

  /** Still playing. */
  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Leaves as a user would ('q'), killed if it does not within 5 s. */
  async stop(): Promise<void> {
    if (!this.running) return;
    const exited = new Promise((resolve) => this.process.once("exit", resolve));
    this.process.stdin?.write("q");
    const timer = setTimeout(() => this.process.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  }
}
