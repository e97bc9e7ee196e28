/**
 * Starts moto's server (from the project venv) on 127.0.0.1, for the integration tests and the
 * benchmarks. It stands in for DynamoDB, Auto Scaling, EC2 and CloudWatch; the AWS SDK reaches it
 * through AWS_ENDPOINT_URL.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { freePort } from "../../local/nginx-fleet";

/** A running moto server. */
export interface MotoServer {
  readonly endpoint: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** The Python of the project venv, where moto[server] is installed. */
export const VENV_PYTHON = path.resolve(__dirname, "../../.venv/bin/python");
/** Our launcher of moto's server (see the file for why it serializes requests). */
const LAUNCHER = path.join(__dirname, "moto_server.py");

/** Fake credentials and region for the SDK: moto accepts any. */
export const MOTO_ENV = {
  AWS_ACCESS_KEY_ID: "testing",
  AWS_SECRET_ACCESS_KEY: "testing",
  AWS_SESSION_TOKEN: "testing",
  AWS_REGION: "us-east-1",
  AWS_DEFAULT_REGION: "us-east-1",
} as const;

/** Starts moto and waits until it answers. @throws when the venv is missing or moto does not start */
export async function startMoto(timeoutMs = 30_000): Promise<MotoServer> {
  if (!existsSync(VENV_PYTHON)) {
    throw new Error(`${VENV_PYTHON} not found: run scripts/setup.sh (it creates the venv with moto[server])`);
  }
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(VENV_PYTHON, [LAUNCHER, String(port)], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${stderr}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.ok) return { endpoint, process: child, stop };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stop();
  throw new Error(`moto_server did not answer on ${endpoint} within ${timeoutMs} ms: ${stderr}`);
}

/**
 * Gives the calling test file its own moto server: started before its tests, stopped after, with
 * the SDK pointed at it. One server per file keeps files from slowing or disturbing each other.
 */
export function useMoto(): { readonly endpoint: () => string } {
  let moto: MotoServer | undefined;
  beforeAll(async () => {
    moto = await startMoto();
    Object.assign(process.env, MOTO_ENV, { AWS_ENDPOINT_URL: moto.endpoint });
  }, 60_000);
  afterAll(async () => {
    await moto?.stop();
  }, 30_000);
  return {
    endpoint: () => {
      if (!moto) throw new Error("moto is not running yet: call endpoint() inside a test or hook");
      return moto.endpoint;
    },
  };
}
