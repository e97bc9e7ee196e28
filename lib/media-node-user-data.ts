/**
 * The media nodes' user data: the node's files from media-node/ (the same nginx templates that
 * local mode renders, never a copy), packed at synth time into one gzip+base64 archive, and the
 * call of bootstrap.sh with this fleet's settings. Nothing secret is in it: each node fetches its
 * own secret at boot, with its instance role.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { UserData } from "aws-cdk-lib/aws-ec2";

/** Where the node's files live in this repository. */
export const MEDIA_NODE_SOURCE_DIR = path.join(__dirname, "..", "media-node");

/** The files a media node runs, all shipped in its user data (in the order that compresses best). */
export const MEDIA_NODE_FILES = [
  "agent.py",
  "render_node.py",
  "nginx-shim.conf.template",
  "nginx-rtmp.conf.template",
  "bootstrap.sh",
] as const;

/** Where the user data unpacks them on the node. */
export const NODE_FILES_DIR = "/opt/rtmp-node";

/** EC2 refuses user data above 16 KB (before its base64 encoding). */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

/** What bootstrap.sh needs to know about the fleet. */
export interface MediaNodeUserDataProps {
  /** The HTTPS API's base URL, without a trailing slash (a deploy-time token is fine). */
  readonly apiUrl: string;
  /** SSM path under which each node's secret is written as `<prefix>/<instance id>`. */
  readonly secretParameterPrefix: string;
  /** Seconds between the agent's heartbeats. */
  readonly heartbeatSeconds: number;
}

/**
 * The node's files as one archive: gzip of a JSON object `{ fileName: content }`, base64 in lines
 * of 76 characters. One archive compresses better than one per file, and JSON needs no delimiter
 * that a file could contain. The boot script unpacks it with python3, which Ubuntu always has.
 */
export function mediaNodeArchive(sourceDir = MEDIA_NODE_SOURCE_DIR): string {
  const files = Object.fromEntries(
    MEDIA_NODE_FILES.map((name) => [name, readFileSync(path.join(sourceDir, name), "utf8")]),
  );
  // gzip from node:zlib writes no timestamp, so the same files give the same user data.
  const base64 = gzipSync(JSON.stringify(files), { level: 9 }).toString("base64");
  return base64.replace(/.{1,76}/g, "$&\n");
}

/** The user data script (text with deploy-time tokens, before EC2's base64). */
export function mediaNodeUserDataScript(props: MediaNodeUserDataProps): string {
  const unpack = [
    "import json, os, sys",
    "for name, text in json.load(sys.stdin).items():",
    "    with open(name, 'w', encoding='utf-8') as f:",
    "        f.write(text)",
    "    os.chmod(name, 0o755 if name.endswith('.sh') else 0o644)",
  ].join("\n");
  return [
    "#!/bin/bash",
    "# rtmp-fleet media node: unpacks the node's files, then runs bootstrap.sh (see media-node/ in the repository).",
    "# Its output is in /var/log/cloud-init-output.log.",
    "set -euo pipefail",
    `install -d -m 0755 ${NODE_FILES_DIR}`,
    `cd ${NODE_FILES_DIR}`,
    `base64 -d <<'ARCHIVE' | gunzip | python3 -c "${unpack}"`,
    `${mediaNodeArchive()}ARCHIVE`,
    `exec ${NODE_FILES_DIR}/bootstrap.sh --api-url '${props.apiUrl}' \\`,
    `  --secret-parameter-prefix '${props.secretParameterPrefix}' --heartbeat-seconds ${props.heartbeatSeconds}`,
    "",
  ].join("\n");
}

/** The media nodes' user data. */
export function mediaNodeUserData(props: MediaNodeUserDataProps): UserData {
  return UserData.custom(mediaNodeUserDataScript(props));
}
