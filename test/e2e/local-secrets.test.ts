/**
 * Local mode's secrets and operator token, on the real process with a real nginx-rtmp node: the
 * secrets come in through a file and the environment and show in no process's arguments and in
 * nothing it prints or its nodes log; with an operator token, every route of the operator's (the
 * contract's operator routes, the status page's data, /local/*) needs it, while cameras resolve
 * and publish with their key alone and the nodes with their own credential.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { ROUTES } from "../../lambdas/contract";
import { cameraKey } from "../../lambdas/core/credentials";
import { Camera, type LocalMode, startLocalMode, waitFor } from "../support/local-mode";
import { secretFiles } from "../support/secret-files";

jest.setTimeout(120_000);

const MASTER = "e2e-secrets-camera-master";
const TOKEN = "e2e-secrets-operator-token";
const BEARER = { authorization: `Bearer ${TOKEN}` };
/** Every GET route the operator calls: the contract's, by their caller, and local mode's own. */
const OPERATOR_PATHS = [...ROUTES.filter((route) => route.caller === "operator").map((r) => r.path), "/local/nodes"];

let local: LocalMode;
const files = secretFiles("local-secrets");
const cameras: Camera[] = [];

const get = (path: string, headers: Record<string, string> = BEARER) => fetch(`${local.url}${path}`, { headers });
const getJson = async <T>(path: string): Promise<T> => (await get(path)).json() as Promise<T>;
const liveStreams = async () =>
  (await getJson<{ streams: { stream: string; state: string }[] }>("/streams")).streams
    .filter((s) => s.state === "LIVE")
    .map((s) => s.stream);

/** Every file under `dir` whose path has a `log` directory in it: what the nodes log. */
function logFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((file) => file.split(path.sep).includes("log") && file.endsWith(".log"))
    .map((file) => path.join(dir, file));
}

/** A process's arguments as `ps` shows them to every user of the machine. */
const argvOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
const environmentOf = (pid: number) => readFileSync(`/proc/${pid}/environ`, "utf8");

beforeAll(async () => {
  local = await startLocalMode(
    [
      ...["--tick-seconds", "1", "--heartbeat-seconds", "2", "--min-nodes", "1", "--buffer-nodes", "0"],
      ...["--camera-secret-file", files.write("camera-master", `${MASTER}\n`)],
    ],
    { operatorToken: TOKEN },
  );
  await waitFor("an ACTIVE node", async () => {
    const { nodes } = await getJson<{ nodes: { state: string }[] }>("/nodes");
    return nodes.some((n) => n.state === "ACTIVE");
  });
});

afterAll(async () => {
  await Promise.all(cameras.map((c) => c.stop()));
  if (local) expect(await local.stop()).toBe(0);
});

describe("local mode with an operator token and camera keys", () => {
  it.each(OPERATOR_PATHS)("answers %s 401 without the token or with a wrong one, 200 with it", async (path) => {
    const without = await get(path, {});
    expect(without.status).toBe(401);
    expect(without.headers.get("www-authenticate")).toBe("Bearer");
    expect(await without.json()).toMatchObject({ error: "unauthorized" });
    expect((await get(path, { authorization: "Bearer not-the-token" })).status).toBe(401);
    expect((await get(path)).status).toBe(200);
  });

  it("serves the status page itself (no data in it) without the token, and refuses a token in its URL", async () => {
    const page = await get("/", {});
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const inUrl = await get(`/?token=${TOKEN}`, {});
    expect(inUrl.status).toBe(400);
    expect(await inUrl.json()).toMatchObject({ error: "token_in_url" });
  });

  it("lets a camera resolve and publish with its key alone (its node's callbacks pass with the node's credential)", async () => {
    const response = await fetch(`${local.url}/resolve?stream=cam1&key=${cameraKey(MASTER, "cam1")}`, {
      headers: { accept: "text/plain" },
    });
    expect(response.status).toBe(200);
    cameras.push(new Camera("cam1", (await response.text()).trim()));
    await waitFor("cam1 live", async () => (await liveStreams()).includes("cam1"));
    // A camera without its key is refused for want of the key, not of the operator's token.
    expect((await fetch(`${local.url}/resolve?stream=cam2`)).status).toBe(403);
  });

  it("prints neither the camera master secret, nor a camera key, nor the operator token, and its nodes log none", async () => {
    // A camera refused by its node's on_publish, so that the refusal is logged too if anything logs it.
    const { nodes } = await getJson<{ nodes: { rtmpBaseUrl: string; dir: string }[] }>("/local/nodes");
    const intruder = new Camera("intruder", `${nodes[0]?.rtmpBaseUrl}/intruder?key=${cameraKey(MASTER, "cam1")}`);
    cameras.push(intruder);
    expect(await intruder.exited()).not.toBe(0);

    const secrets = [
      MASTER,
      TOKEN,
      cameraKey(MASTER, "cam1"),
      cameraKey(MASTER, "cam2"),
      cameraKey(MASTER, "intruder"),
    ];
    const files = logFiles(local.workDir);
    expect(files.length).toBeGreaterThan(0);
    for (const text of [local.output(), ...files.map((file) => readFileSync(file, "utf8"))]) {
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
    // It says how to get a key instead.
    expect(local.output()).toContain("key=$(npm run -s camera-key -- cam1)");
  });

  it("carries no secret in the arguments of any process it runs, nor in its nodes' environment", async () => {
    const { nodes } = await getJson<{ nodes: { nginxPid: number; agentPid: number }[] }>("/local/nodes");
    const pids = [local.process.pid as number, ...nodes.flatMap((n) => [n.nginxPid, n.agentPid])];
    expect(argvOf(local.process.pid as number)).toContain("local/main.ts");
    for (const pid of pids) {
      for (const secret of [MASTER, TOKEN]) expect(argvOf(pid)).not.toContain(secret);
    }
    for (const pid of pids.slice(1)) {
      for (const secret of [MASTER, TOKEN]) expect(environmentOf(pid)).not.toContain(secret);
    }
  });
});
