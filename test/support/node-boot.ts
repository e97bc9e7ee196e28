/**
 * Booting media nodes for real (test/support/node-container.ts) against stand-ins on 127.0.0.1: an
 * API over TLS (a local CA, two intermediates) whose `POST /nodes/boot` is the control plane's own
 * handler, instance metadata and SSM. Each node gets its own
 * stand-ins, free ports, the launch template's own user data (gzip-compressed) and the tags the
 * launch template would give it, with this node's API and heartbeat period.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import { LIFECYCLE } from "../../lambdas/contract";
import { credentialHash } from "../../lambdas/core/credentials";
import { createHeartbeatHandler } from "../../lambdas/handlers/heartbeat";
import { mediaNodeSettingTags, mediaNodeUserData } from "../../lib/media-node-user-data";
import { freePort } from "../../local/nginx-fleet";
import { type ImdsAndSsm, startImdsAndSsm } from "./aws-stand-ins";
import { CONTEXT, httpEvent, makeDeps, makeGroup, makeNode, TestClock } from "./builders";
import { NodeContainer, nodeRootfs, USER_DATA_DIR } from "./node-container";
import { type StandInApi, type StandInRoute, startStandInApi } from "./stand-in-api";
import { localTlsChain, type TlsChain } from "./tls-chain";

const PREFIX = "/rtmp-fleet/BootTest/node-secrets";
export const GROUP_NAME = "BootTest-media-nodes";
const CREDENTIALS = {
  accessKeyId: "ASIABOOTTESTKEY12345",
  secretAccessKey: "bootTestSecretAccessKey/EXAMPLE+0123456",
  token: "IQoJb3JpZ2luX2VjBOOTTEST/TOKEN+xyz==",
};

/** What every boot shares: the root filesystem, the CA chain, a work directory. */
export interface BootSite {
  readonly rootfs: string;
  readonly chain: TlsChain;
  readonly workDir: string;
  /** Whether the root filesystem had to be built (a cold run). */
  readonly built: boolean;
  /** Removes the work directory, and the nftables table the nodes left in this host's network. */
  close(): void;
}

/**
 * The control plane's side of a boot: its real handler of `POST /nodes/boot`, over a registry that
 * holds the node PENDING (as the lifecycle path registers it) and a group that records what is
 * done to the node's launch.
 */
export interface BootControl {
  readonly registry: MemoryRegistry;
  /** What the handler did to the launch, in order: `extend`, `CONTINUE` or `ABANDON`. */
  readonly launchActions: string[];
}

/** One node's boot: its stand-ins, its container, and what it was told. */
export interface Boot {
  readonly instanceId: string;
  readonly secret: string;
  readonly api: StandInApi;
  readonly control: BootControl;
  readonly aws: ImdsAndSsm;
  readonly container: NodeContainer;
  readonly rtmpPort: number;
  /** Its shim's port, on loopback. */
  readonly shimPort: number;
}

/** The shared part of booting nodes; builds the root filesystem if it is not cached yet. */
export function bootSite(log: (line: string) => void = () => undefined): BootSite {
  const workDir = mkdtempSync(path.join(os.tmpdir(), "rtmp-fleet-boot-"));
  const chain = localTlsChain(workDir, 2);
  const { dir: rootfs, built } = nodeRootfs(log);
  return {
    rootfs,
    chain,
    workDir,
    built,
    close: () => {
      // The container shares this host's network namespace: its firewall table is the host's.
      NodeContainer.removeFirewallTable();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/**
 * Boots a node with its own stand-ins; `env` adds to the bootstrap's test settings, and
 * `targetLifecycleState` is where Auto Scaling takes the instance (absent: outside a group).
 */
export async function bootNode(
  site: BootSite,
  instanceId: string,
  heartbeatSeconds: number,
  env: Record<string, string> = {},
  targetLifecycleState?: string,
): Promise<Boot> {
  const secret = `${instanceId.replace(/-/g, "")}-node-secret`;
  const { control, route } = await bootControl(instanceId, secret);
  const api = await startStandInApi({ tls: site.chain, routes: { "/nodes/boot": route } });
  const aws = await startImdsAndSsm({
    instanceId,
    region: "eu-west-1",
    publicIp: "127.0.0.1",
    credentials: CREDENTIALS,
    nodeSecret: secret,
    targetLifecycleState,
    tags: mediaNodeSettingTags({
      apiUrl: api.url,
      secretParameterPrefix: PREFIX,
      heartbeatSeconds,
      groupName: GROUP_NAME,
      launchHookName: LIFECYCLE.launchHook,
    }),
  });
  const [rtmpPort, statPort, shimPort] = [await freePort(), await freePort(), await freePort()];
  const container = NodeContainer.boot(
    site.rootfs,
    path.join(site.workDir, instanceId),
    mediaNodeUserData(),
    {
      RTMP_NODE_IMDS_URL: `${aws.url}/latest`,
      RTMP_NODE_SSM_URL: `${aws.url}/`,
      RTMP_NODE_AUTOSCALING_URL: `${aws.url}/autoscaling/`,
      RTMP_NODE_API_CA_FILE: `${USER_DATA_DIR}/api-ca.pem`,
      RTMP_NODE_RTMP_PORT: String(rtmpPort),
      RTMP_NODE_STAT_PORT: String(statPort),
      RTMP_NODE_SHIM_PORT: String(shimPort),
      RTMP_NODE_RETRY_SECONDS: "1",
      ...env,
    },
    { "api-ca.pem": readFileSync(site.chain.rootFile, "utf8") },
  );
  return { instanceId, secret, api, control, aws, container, rtmpPort, shimPort };
}

/** The control plane's side of a boot (see `BootControl`), and the stand-in API's route to its handler. */
async function bootControl(instanceId: string, secret: string): Promise<{ control: BootControl; route: StandInRoute }> {
  const registry = new MemoryRegistry();
  await registry.createNode(makeNode({ nodeId: instanceId, state: "PENDING", credentialHash: credentialHash(secret) }));
  const { group } = makeGroup(registry, new TestClock());
  const launchActions: string[] = [];
  group.extendLaunch = async () => void launchActions.push("extend");
  group.completeLaunch = async (_, result) => void launchActions.push(result);
  const handler = createHeartbeatHandler(makeDeps(registry, { fleet: group }));
  const route: StandInRoute = async (call) => {
    const headers = Object.fromEntries(Object.entries(call.headers).map(([name, value]) => [name, String(value)]));
    const event = httpEvent({ method: call.method, path: call.path, headers, body: call.body });
    const result = await handler(event, CONTEXT);
    return { status: result.statusCode, body: String(result.body) };
  };
  return { control: { registry, launchActions }, route };
}

/** Stops a node's container and its stand-ins. */
export async function shutDown(boot: Boot | undefined): Promise<void> {
  await boot?.container.stop();
  await boot?.api.close();
  await boot?.aws.close();
}

/** The progress reports (POST /nodes/boot) the node's API received, in order. */
export const bootReports = (boot: Boot): Record<string, string>[] =>
  boot.api.calls.filter((c) => c.path === "/nodes/boot").map((c) => JSON.parse(c.body));
