/**
 * Local mode (`npm run local`): the whole control plane on this machine. The Lambdas' handlers run
 * behind a local HTTP server, the registry is in memory (behind the same port as DynamoDB), and
 * the media-node group is a local fleet of real nginx-rtmp processes rendered from the AWS nodes'
 * template, with the same callbacks, heartbeat agent, lifecycle, protection and scaler decision.
 */
import path from "node:path";
import { Logger } from "@aws-lambda-powertools/logger";
import { staticSecrets } from "../lambdas/adapters/aws-secrets";
import { MemoryNodeCredentials } from "../lambdas/adapters/memory-node-credentials";
import { MemoryRegistry } from "../lambdas/adapters/memory-registry";
import { ProcessGroup } from "../lambdas/adapters/process-group";
import { DebouncedScaleOut } from "../lambdas/adapters/scale-out";
import { MemoryTelemetry } from "../lambdas/adapters/telemetry";
import { onLifecycle } from "../lambdas/core/lifecycle";
import { heldStreams, slotOf } from "../lambdas/core/model";
import { chooseNode } from "../lambdas/core/placement";
import type { InstanceAddresses } from "../lambdas/core/ports";
import { runScalerTick } from "../lambdas/core/scaler-run";
import type { ApiDeps } from "../lambdas/handlers/api";
import { json } from "../lambdas/handlers/http";
import { CAMERA_MASTER_SECRET, readCommandLine, VIEWER_MASTER_SECRET } from "../scripts/command-line";
import { IngestProxy } from "./ingest-proxy";
import { LocalMachineEvidence } from "./machine-evidence";
import { freePort, INGEST_NGINX, INSTALL_HINT, LocalNginxFleet, missingPrerequisites } from "./nginx-fleet";
import { LOCAL_COMMAND, LOCAL_SECRETS, type LocalOptions, readLocalOptions } from "./options";
import { type ApiServer, type LocalRoute, startApiServer } from "./server";
import { statusStream } from "./status-stream";

const time = () => new Date().toISOString().slice(11, 19);
const say = (line: string) => console.log(`${time()} ${line}`);

/**
 * `/local/nodes`: each local node's processes and ports, and the fixed ingest address with the node
 * it sends new cameras to (local mode only, for tests and operators).
 */
function localNodesRoute(nodes: LocalNginxFleet, ingest: IngestProxy): LocalRoute {
  return {
    path: "/local/nodes",
    caller: "operator",
    answer: () =>
      json(200, {
        nodes: nodes.list().map((n) => ({
          instanceId: n.instanceId,
          rtmpBaseUrl: n.rtmpBaseUrl,
          shimPort: n.shimPort,
          nginxPid: n.nginx.pid,
          agentPid: n.agent.pid,
          dir: n.dir,
        })),
        ingest: ingest.status,
      }),
  };
}

/** What every step of local mode reads: its options, the registry and the nodes' secrets. */
interface LocalRun {
  readonly options: LocalOptions;
  readonly registry: MemoryRegistry;
  /** Each node's secret, issued at its launch and handed to its files when it starts. */
  readonly credentials: MemoryNodeCredentials;
}

/** Where this run keeps its nodes' and its ingest proxy's files. */
function runDir(options: LocalOptions): string {
  return path.join(options.workDir, `run-${process.pid}`);
}

/** Where cameras reach local nodes: known once a node's nginx runs (the scaler fills it in then). */
function localAddresses(nodes: LocalNginxFleet): InstanceAddresses {
  return { rtmpBaseUrl: async (id) => nodes.list().find((n) => n.instanceId === id)?.rtmpBaseUrl };
}

/**
 * The media-node group: real nginx-rtmp nodes (left over ones from a killed run reaped first)
 * behind an in-process group whose lifecycle hooks do what the lifecycle Lambda does on AWS.
 * @param apiUrl the control plane's URL, known once it listens (the nodes' agents call it)
 */
function buildFleet(run: LocalRun, apiUrl: () => string): { nodes: LocalNginxFleet; group: ProcessGroup } {
  const { options, registry, credentials } = run;
  LocalNginxFleet.reapStale(options.workDir, say);
  const nodes = new LocalNginxFleet({
    workDir: runDir(options),
    apiUrl,
    secretOf: (id) => credentials.secretOf(id) ?? "",
    heartbeatSeconds: options.config.heartbeatSeconds,
    log: say,
  });
  process.on("exit", () => nodes.killAllNow());

  const fleetDeps = () => ({ registry, fleet: group, now: Date.now, credentials, addresses: localAddresses(nodes) });
  const group: ProcessGroup = new ProcessGroup({
    min: 0,
    max: options.config.maxNodes,
    desired: 0,
    launcher: nodes,
    idPrefix: "local-",
    launchTimeoutMs: 120_000,
    hooks: {
      // What the lifecycle Lambda does on AWS.
      launching: async (id, at) => {
        const event = await onLifecycle(fleetDeps(), { kind: "launching", instanceId: id, launchedAt: at });
        say(event.message);
      },
      terminating: async (id) => {
        const event = await onLifecycle(fleetDeps(), { kind: "terminating", instanceId: id });
        say(event.message);
      },
    },
  });
  return { nodes, group };
}

/** The scaler's runs, one at a time: a run asked for while another is under way follows it. */
interface ScalerLoop {
  /** Runs the group's own step and the scaler once; a failure is logged, not thrown. */
  tick(owner: string): Promise<unknown>;
  /** Resolves when the last run asked for has ended. */
  settled(): Promise<unknown>;
}

/**
 * Runs `step` calls one after another, each after the previous one has ended. A failed call is
 * reported and the chain goes on: the next call runs as if it had succeeded.
 */
export function oneAtATime<A>(step: (arg: A) => Promise<void>, onError: (error: Error) => void) {
  let last: Promise<void> = Promise.resolve();
  return {
    run: (arg: A): Promise<void> => {
      last = last.then(() => step(arg)).catch(onError);
      return last;
    },
    settled: (): Promise<void> => last,
  };
}

function scalerLoop(run: LocalRun, fleet: { nodes: LocalNginxFleet; group: ProcessGroup }): ScalerLoop {
  const { registry, options } = run;
  const { group } = fleet;
  // What EC2 and CloudWatch tell on AWS: whether a silent node's nginx still runs and receives.
  const evidence = new LocalMachineEvidence(() =>
    fleet.nodes.list().map((n) => ({
      instanceId: n.instanceId,
      nginxPid: n.nginx.pid,
      statUrl: n.statUrl,
    })),
  );
  const runs = oneAtATime(
    async (owner: string) => {
      await group.tick();
      await evidence.sample();
      const report = await runScalerTick({
        registry,
        fleet: group,
        config: options.config,
        now: Date.now,
        owner,
        evidence,
        credentials: run.credentials,
        addresses: localAddresses(fleet.nodes),
      });
      for (const event of report.events) say(event.message);
    },
    (error) => say(`scaler run failed: ${error.message}`),
  );
  return { tick: runs.run, settled: runs.settled };
}

/** How often the fixed ingest address checks where placement would put a camera now (ms). */
const INGEST_FOLLOW_MS = 250;

/**
 * Keeps the fixed ingest address pointed at the node placement chooses now: `chooseNode`, the
 * rule resolve reserves by, on the registry as it is. Checked every INGEST_FOLLOW_MS rather than
 * after each write, since a reservation's expiry or a heartbeat changes the choice too.
 */
function followPlacement(run: LocalRun, nodes: LocalNginxFleet, ingest: IngestProxy) {
  return oneAtATime(
    async () => {
      const chosen = chooseNode(await run.registry.listNodes(), Date.now(), run.options.config);
      const node = nodes.list().find((n) => n.instanceId === chosen?.nodeId);
      await ingest.follow(node && { nodeId: node.instanceId, rtmpPort: node.rtmpPort });
    },
    (error) => say(`ingest: could not switch the proxy: ${error.message}`),
  );
}

/** The handlers' logger, at the `logLevel` knob's level (`warn` by default: the terminal is the operator's). */
export function localLogger(options: LocalOptions): Logger {
  return new Logger({ serviceName: "rtmp-fleet-local", logLevel: options.config.logLevel });
}

/** The control plane: the Lambdas' handlers behind a local HTTP server, with /local/nodes and the status page's live stream. */
async function startControlPlane(
  run: LocalRun,
  fleet: { nodes: LocalNginxFleet; group: ProcessGroup },
  scaler: ScalerLoop,
  ingest: IngestProxy,
): Promise<ApiServer> {
  const { options, registry } = run;
  const deps: ApiDeps = {
    registry,
    config: options.config,
    now: Date.now,
    logger: localLogger(options),
    telemetry: new MemoryTelemetry(),
    secrets: staticSecrets({
      cameraMaster: options.cameraMaster,
      operatorToken: options.operatorToken,
      viewerMaster: options.viewerMaster,
    }),
    cameraCidrs: options.cameraCidrs,
    ingestAddress: ingest.address,
    fleet: fleet.group,
    scaleOut: new DebouncedScaleOut(async () => void scaler.tick("scale-out"), 1000),
  };
  const live = statusStream(deps);
  return startApiServer(deps, options.port, [localNodesRoute(fleet.nodes, ingest), live.ticketRoute], [live.stream]);
}

/**
 * Tells the operator where the control plane is and how to publish a first camera. Nothing secret
 * is printed (terminals are scrolled back, shared and logged): a camera's key is fetched by the
 * command printed, with the master where the operator keeps it.
 */
function greet(url: string, options: LocalOptions, ingest: IngestProxy): void {
  say(`control plane on ${url} (status page: ${url}/ ; stop with Ctrl-C)`);
  say(`policy: ${JSON.stringify(options.config)}; scaler every ${options.tickSeconds} s`);
  if (options.operatorToken) {
    say(
      "operator token on: /nodes, /streams, /events, /status, /local/nodes and /local/status/ticket need 'Authorization: Bearer <token>'",
    );
  }
  const keyArg = options.cameraMaster ? "&key=$(npm run -s camera-key -- cam1)" : "";
  say(
    options.cameraMaster
      ? `publish a test camera with (camera keys on: run it with ${CAMERA_MASTER_SECRET.env} set, or add --${CAMERA_MASTER_SECRET.fileOption} PATH to camera-key):`
      : "publish a test camera with:",
  );
  console.log(
    `  ffmpeg -re -f lavfi -i testsrc=size=640x360:rate=25 -f lavfi -i sine -c:v libx264 -preset veryfast -tune zerolatency -g 50 -c:a aac -f flv "$(curl -sf -H 'Accept: text/plain' "${url}/resolve?stream=cam1${keyArg}")"`,
  );
  say(
    `cameras that cannot ask first publish to the fixed ingest address, filled in order: ${ingest.status.address}/<stream>${options.cameraMaster ? "?key=<its camera key>" : ""}`,
  );
  if (!options.viewerMaster) {
    say(
      `viewer access is off: every play is refused (turn it on with ${VIEWER_MASTER_SECRET.env} or --${VIEWER_MASTER_SECRET.fileOption})`,
    );
    return;
  }
  say(`play it, with ${VIEWER_MASTER_SECRET.env} set to the viewer master secret in your shell:`);
  console.log(
    `  ffplay "$(curl -sf -H 'Accept: text/plain' "${url}/play?stream=cam1&key=$(npm run -s viewer-key -- cam1)")"`,
  );
}

/** Stream activity, for the operator watching the terminal: each call says which streams went live or ended since the last. */
function activityLog(registry: MemoryRegistry): () => Promise<void> {
  let known = new Map<string, string>();
  return async () => {
    const now = Date.now();
    const current = new Map<string, string>();
    for (const node of await registry.listNodes()) {
      for (const name of heldStreams(node, now)) {
        if (slotOf(node, name)?.state === "LIVE") current.set(name, node.nodeId);
      }
    }
    for (const [name, nodeId] of current) if (known.get(name) !== nodeId) say(`stream ${name} live on ${nodeId}`);
    for (const [name, nodeId] of known) if (!current.has(name)) say(`stream ${name} ended on ${nodeId}`);
    known = current;
  };
}

/**
 * Resolves at the first Ctrl-C (SIGINT or SIGTERM). A second one more than 2 s later kills every
 * node and exits at once.
 */
function stopRequested(nodes: LocalNginxFleet): Promise<void> {
  return new Promise<void>((resolve) => {
    let firstAt: number | undefined;
    const stop = (signal: string) => {
      if (firstAt === undefined) {
        firstAt = Date.now();
        say(`${signal}: stopping every node (again to force)`);
        resolve();
      } else if (Date.now() - firstAt > 2000) {
        // A second request, not the echo of the first through npm or tsx: stop at once.
        nodes.killAllNow();
        process.exit(130);
      }
    };
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGTERM", () => stop("SIGTERM"));
  });
}

/**
 * Stops the scaler and the ingest proxy's switching (letting a run under way end), then the control
 * plane, the ingest proxy and every node.
 */
async function shutdown(
  timers: readonly NodeJS.Timeout[],
  runs: readonly { settled(): Promise<unknown> }[],
  server: ApiServer,
  ingest: IngestProxy,
  nodes: LocalNginxFleet,
) {
  for (const timer of timers) clearInterval(timer);
  await Promise.all(runs.map((run) => run.settled()));
  await server.close();
  await ingest.stop();
  await nodes.stopAll();
  say("stopped");
}

/** Starts local mode; resolves when it has stopped (Ctrl-C). */
export async function runLocal(options: LocalOptions): Promise<void> {
  const run: LocalRun = { options, registry: new MemoryRegistry(), credentials: new MemoryNodeCredentials() };
  let apiUrl = "";
  const fleet = buildFleet(run, () => apiUrl);
  const ingestPort = options.ingestPort || (await freePort());
  const ingest = await IngestProxy.start(path.join(runDir(options), INGEST_NGINX), ingestPort, say);
  process.on("exit", () => ingest.killNow());
  const scaler = scalerLoop(run, fleet);
  const server = await startControlPlane(run, fleet, scaler, ingest);
  apiUrl = server.url;
  greet(server.url, options, ingest);
  const logActivity = activityLog(run.registry);

  await scaler.tick("start");
  const timer = setInterval(() => void scaler.tick("schedule").then(logActivity), options.tickSeconds * 1000);
  const ingestRuns = followPlacement(run, fleet.nodes, ingest);
  const ingestTimer = setInterval(() => void ingestRuns.run(undefined), INGEST_FOLLOW_MS);
  await stopRequested(fleet.nodes);
  await shutdown([timer, ingestTimer], [scaler, ingestRuns], server, ingest, fleet.nodes);
}

async function main(): Promise<number> {
  const read = readCommandLine(LOCAL_COMMAND, process.argv.slice(2), readLocalOptions);
  if ("exitCode" in read) return read.exitCode;
  // Read once; the nodes' processes (nginx, the agent) inherit the environment and need none of them.
  for (const secret of LOCAL_SECRETS) delete process.env[secret.env];
  const missing = missingPrerequisites();
  if (missing.length > 0) {
    console.error(`local mode needs: ${missing.join("; ")}.\nInstall them with: ${INSTALL_HINT}`);
    return 1;
  }
  await runLocal(read.options);
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error: Error) => {
      console.error(`local mode failed: ${error.stack ?? error.message}`);
      process.exit(1);
    },
  );
}
