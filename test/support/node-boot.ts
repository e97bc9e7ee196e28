/**
 * Booting media nodes for real (test/support/node-container.ts) against stand-ins on 127.0.0.1: an
 * API over TLS (a local CA, two intermediates), instance metadata and SSM. Each node gets its own
 * stand-ins, free ports, the launch template's own user data (gzip-compressed) and the tags the
 * launch template would give it, with this node's API and heartbeat period.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { mediaNodeSettingTags, mediaNodeUserData } from "../../lib/media-node-user-data";
import { freePort } from "../../local/nginx-fleet";
import { type ImdsAndSsm, startImdsAndSsm } from "./aws-stand-ins";
import { NodeContainer, nodeRootfs, USER_DATA_DIR } from "./node-container";
import { type StandInApi, startStandInApi } from "./stand-in-api";
import { localTlsChain, type TlsChain } from "./tls-chain";

const PREFIX = "/rtmp-fleet/BootTest/node-secrets";
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

/** One node's boot: its stand-ins, its container, and what it was told. */
export interface Boot {
  readonly instanceId: string;
  readonly secret: string;
  readonly api: StandInApi;
  readonly aws: ImdsAndSsm;
  readonly container: NodeContainer;
  readonly rtmpPort: number;
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

/** Boots a node with its own stand-ins; `env` adds to the bootstrap's test settings. */
export async function bootNode(
  site: BootSite,
  instanceId: string,
  heartbeatSeconds: number,
  env: Record<string, string> = {},
): Promise<Boot> {
  const secret = `${instanceId.replace(/-/g, "")}-node-secret`;
  const api = await startStandInApi({ tls: site.chain });
  const aws = await startImdsAndSsm({
    instanceId,
    region: "eu-west-1",
    publicIp: "127.0.0.1",
    credentials: CREDENTIALS,
    nodeSecret: secret,
    tags: mediaNodeSettingTags({ apiUrl: api.url, secretParameterPrefix: PREFIX, heartbeatSeconds }),
  });
  const [rtmpPort, statPort, shimPort] = [await freePort(), await freePort(), await freePort()];
  const container = NodeContainer.boot(
    site.rootfs,
    path.join(site.workDir, instanceId),
    mediaNodeUserData(),
    {
      RTMP_NODE_IMDS_URL: `${aws.url}/latest`,
      RTMP_NODE_SSM_URL: `${aws.url}/`,
      RTMP_NODE_API_CA_FILE: `${USER_DATA_DIR}/api-ca.pem`,
      RTMP_NODE_RTMP_PORT: String(rtmpPort),
      RTMP_NODE_STAT_PORT: String(statPort),
      RTMP_NODE_SHIM_PORT: String(shimPort),
      RTMP_NODE_RETRY_SECONDS: "1",
      ...env,
    },
    { "api-ca.pem": readFileSync(site.chain.rootFile, "utf8") },
  );
  return { instanceId, secret, api, aws, container, rtmpPort };
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
