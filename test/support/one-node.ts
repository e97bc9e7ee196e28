/**
 * One local node rendered as on AWS (local/nginx-fleet.ts: the same templates and renderer),
 * against a stand-in API on 127.0.0.1, in a work directory of its own: for the tests of the node
 * itself.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { LocalNginxFleet, type LocalNode } from "../../local/nginx-fleet";
import { type StandInApi, startStandInApi } from "./stand-in-api";
import type { TlsChain } from "./tls-chain";

/** A running node, its API and its directory. */
export interface OneNode {
  readonly workDir: string;
  readonly api: StandInApi;
  readonly node: LocalNode;
  /** Stops the node and the API and removes the directory. */
  close(): Promise<void>;
}

/**
 * Starts the node (heartbeats every second) and its API; `tls` builds the API's certificate chain
 * in the work directory, which the node's shim then trusts.
 */
export async function startOneNode(options: {
  readonly nodeId: string;
  readonly secret: string;
  readonly tls?: (workDir: string) => TlsChain;
}): Promise<OneNode> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), "rtmp-fleet-node-"));
  const chain = options.tls?.(workDir);
  const api = await startStandInApi({ tls: chain });
  const fleet = new LocalNginxFleet({
    workDir: path.join(workDir, "nodes"),
    apiUrl: () => api.url,
    secretOf: () => options.secret,
    heartbeatSeconds: 1,
    log: () => undefined,
    apiCaFile: chain?.rootFile,
  });
  await fleet.start(options.nodeId);
  return {
    workDir,
    api,
    node: fleet.list()[0] as LocalNode,
    close: async () => {
      await fleet.stopAll();
      await api.close();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
