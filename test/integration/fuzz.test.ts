/**
 * Fuzzing the HTTP API with schemathesis (from the project venv), driven by docs/openapi.yaml,
 * against the real handlers behind local mode's server. Every request is watched on the server:
 * - no answer is a 5xx;
 * - every 4xx carries the JSON error body `{error, message}`;
 * - no rejected request (4xx) wrote anything to the registry.
 * The node routes are fuzzed with a valid node's credentials (as its shim would send them) so that
 * the generated bodies reach the parsing and the domain; schemathesis also drops them to check the
 * refusal.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import type { Registry } from "../../lambdas/core/registry";
import { type ApiServer, startApiServer } from "../../local/server";
import { makeConfig, makeDeps, makeNode, T0, TestClock, testNodeSecret } from "../support/builders";

jest.setTimeout(900_000);

const ROOT = path.resolve(__dirname, "../..");
const ST = path.join(ROOT, ".venv/bin/st");
const MAX_EXAMPLES = Number(process.env.FUZZ_MAX_EXAMPLES ?? 400);

/** Counts every write the registry accepts. */
function ledger(registry: Registry): { registry: Registry; writes: () => number } {
  let writes = 0;
  const counted: Registry = Object.create(registry);
  counted.applyChange = async (change) => {
    const outcome = await registry.applyChange(change);
    if (outcome.applied) writes++;
    return outcome;
  };
  counted.createNode = async (node) => {
    const created = await registry.createNode(node);
    if (created) writes++;
    return created;
  };
  counted.deleteNode = async (nodeId, states) => {
    const deleted = await registry.deleteNode(nodeId, states);
    if (deleted) writes++;
    return deleted;
  };
  counted.appendEvents = async (events) => {
    writes += events.length;
    await registry.appendEvents(events);
  };
  return { registry: counted, writes: () => writes };
}

interface Observed {
  method: string;
  url: string;
  status: number;
  body: string;
  writes: number;
}

let server: ApiServer;
const observed: Observed[] = [];

beforeAll(async () => {
  const memory = new MemoryRegistry();
  // Plenty of room: a 503 "no capacity" is a designed answer, but not what fuzzing is after.
  for (let i = 1; i <= 30; i++) await memory.createNode(makeNode({ nodeId: `n${i}`, launchedAt: T0 + i }));
  const { registry, writes } = ledger(memory);
  const deps = makeDeps(registry, { config: makeConfig(), cameraKeys: false, clock: new TestClock(T0) });
  server = await startApiServer(deps, 0);
  server.server.prependListener("request", (request: IncomingMessage, response: ServerResponse) => {
    const before = writes();
    const chunks: Buffer[] = [];
    const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
    response.end = ((...args: unknown[]) => {
      if (typeof args[0] === "string" || Buffer.isBuffer(args[0])) chunks.push(Buffer.from(args[0] as string));
      return end(...args);
    }) as typeof response.end;
    response.once("finish", () => {
      observed.push({
        method: request.method ?? "",
        url: request.url ?? "",
        status: response.statusCode,
        body: Buffer.concat(chunks).toString("utf8"),
        writes: writes() - before,
      });
    });
  });
});

afterAll(() => server?.close());

it(`schemathesis: at least 1000 generated requests, no 5xx, JSON errors, no write from a rejected request`, async () => {
  if (!existsSync(ST)) throw new Error(`${ST} is missing: scripts/setup.sh installs schemathesis into the venv`);
  const reportDir = path.join(ROOT, "test-output/schemathesis");
  mkdirSync(reportDir, { recursive: true });
  const args = [
    "run",
    path.join(ROOT, "docs/openapi.yaml"),
    "--url",
    server.url,
    "--max-examples",
    String(MAX_EXAMPLES),
    "--seed",
    "20261121",
    "--workers",
    "1",
    "--checks",
    "all",
    "--header",
    "x-node-id: n1",
    "--header",
    `x-node-secret: ${testNodeSecret("n1")}`,
    "--no-color",
    "--report",
    "junit",
    "--report-dir",
    reportDir,
    "--generation-database",
    "none",
  ];
  const result = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(ST, args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}\n${stderr}` });
    });
  });
  const summary = {
    requests: observed.length,
    byStatus: Object.fromEntries(
      [...new Set(observed.map((o) => o.status))].sort().map((s) => [s, observed.filter((o) => o.status === s).length]),
    ),
  };
  console.log(`fuzz: ${JSON.stringify(summary)}`);
  if (process.env.FUZZ_VERBOSE) console.log(result.output);
  const serverErrors = observed.filter((o) => o.status >= 500);
  const badErrorBodies = observed.filter((o) => {
    if (o.status < 400 || o.status >= 500) return false;
    try {
      const body = JSON.parse(o.body);
      return typeof body.error !== "string" || typeof body.message !== "string";
    } catch {
      return true;
    }
  });
  const writingRefusals = observed.filter((o) => o.status >= 400 && o.writes > 0);
  expect({ serverErrors, badErrorBodies, writingRefusals }).toEqual({
    serverErrors: [],
    badErrorBodies: [],
    writingRefusals: [],
  });
  expect(observed.length).toBeGreaterThanOrEqual(1000);
  expect({ code: result.code, output: result.code === 0 ? "" : result.output.slice(-6000) }).toEqual({
    code: 0,
    output: "",
  });
});
