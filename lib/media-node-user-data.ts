/**
 * The media nodes' user data, and the settings that stay out of it. The user data is a script that
 * writes the node's files from media-node/ (the same nginx templates that local mode renders, never
 * a copy) and runs bootstrap.sh; it is gzip-compressed at synth time, which cloud-init undoes before
 * it runs it. What differs from one fleet to another (the API's URL, the node-secret path, the
 * heartbeat period, the group's name) goes on the instance as tags, which bootstrap.sh reads from instance metadata:
 * the user data holds no deploy-time value, so it can be compressed whole, and it is the same bytes
 * for every stack. Nothing secret is in either: each node fetches its own secret at boot.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { NODE_SETTING_TAGS } from "../lambdas/contract";

/**
 * Where the node's files are: media-node/ in the repository; in the packed library, the copy that
 * scripts/build-construct.ts puts beside the compiled lib/, so the same path finds both.
 */
export const MEDIA_NODE_SOURCE_DIR = path.join(__dirname, "..", "media-node");

/** The files a media node runs, all shipped in its user data (in the order that compresses best). */
export const MEDIA_NODE_FILES = [
  "agent.py",
  "render_node.py",
  "nginx-shim.conf.template",
  "nginx-rtmp.conf.template",
  "bootstrap.sh",
] as const;

/** Where the user data writes them on the node. */
export const NODE_FILES_DIR = "/opt/rtmp-node";

/** EC2 refuses user data above 16 KB (the bytes the instance receives, before EC2's base64). */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

/** Ends each file's here-document in the script: no line of a node file may be this. */
export const FILE_END_MARKER = "RTMP_NODE_FILE_END";

/** What bootstrap.sh needs to know about the fleet, carried by the instance's tags. */
export interface MediaNodeSettings {
  /** The HTTPS API's base URL, without a trailing slash (a deploy-time token is fine). */
  readonly apiUrl: string;
  /** SSM path under which each node's secret is written as `<prefix>/<instance id>`. */
  readonly secretParameterPrefix: string;
  /** Seconds between the agent's heartbeats. */
  readonly heartbeatSeconds: number;
  /** The node's Auto Scaling group and its launch lifecycle hook. */
  readonly groupName: string;
  readonly launchHookName: string;
}

/** The instance tags that carry a fleet's settings, by key (`NODE_SETTING_TAGS`). */
export function mediaNodeSettingTags(settings: MediaNodeSettings): Record<string, string> {
  return {
    [NODE_SETTING_TAGS.apiUrl]: settings.apiUrl,
    [NODE_SETTING_TAGS.secretParameterPrefix]: settings.secretParameterPrefix,
    [NODE_SETTING_TAGS.heartbeatSeconds]: String(settings.heartbeatSeconds),
    [NODE_SETTING_TAGS.groupName]: settings.groupName,
    [NODE_SETTING_TAGS.launchHook]: settings.launchHookName,
  };
}

/** One node file as a quoted here-document (written byte for byte), then its mode. */
function writeFileCommands(name: string, text: string): string[] {
  if (!text.endsWith("\n")) throw new Error(`media-node/${name} must end with a newline to be shipped in user data`);
  if (text.split("\n").includes(FILE_END_MARKER)) {
    throw new Error(`media-node/${name} has a line '${FILE_END_MARKER}', which ends a file in the user data`);
  }
  return [
    `cat >${name} <<'${FILE_END_MARKER}'`,
    `${text}${FILE_END_MARKER}`,
    `chmod ${name.endsWith(".sh") ? "0755" : "0644"} ${name}`,
  ];
}

/** The user data script, before compression: the node's files in plain text, then bootstrap.sh. */
function mediaNodeUserDataScript(sourceDir = MEDIA_NODE_SOURCE_DIR): string {
  return [
    "#!/bin/bash",
    "# rtmp-fleet media node: writes the node's files (media-node/ in the repository), then runs bootstrap.sh,",
    "# which reads this fleet's settings from the instance's tags. Its output is in /var/log/cloud-init-output.log.",
    "set -euo pipefail",
    `install -d -m 0755 ${NODE_FILES_DIR}`,
    `cd ${NODE_FILES_DIR}`,
    ...MEDIA_NODE_FILES.flatMap((name) => writeFileCommands(name, readFileSync(path.join(sourceDir, name), "utf8"))),
    `exec ${NODE_FILES_DIR}/bootstrap.sh`,
    "",
  ].join("\n");
}

/** Byte 9 of a gzip header: the operating system that wrote it (RFC 1952); 255 is "unknown". */
const GZIP_OS_BYTE = 9;

/**
 * The user data as the instance receives it: the script, gzip-compressed. The same files give the
 * same bytes: node:zlib writes no time and no file name, and the header's operating-system byte,
 * which zlib sets to the platform it was built for, is set to "unknown".
 * @throws when it would not fit EC2's limit, naming the size
 */
export function mediaNodeUserData(sourceDir = MEDIA_NODE_SOURCE_DIR): Buffer {
  const compressed = gzipSync(mediaNodeUserDataScript(sourceDir), { level: 9 });
  compressed[GZIP_OS_BYTE] = 255;
  if (compressed.length > USER_DATA_LIMIT_BYTES) {
    throw new Error(
      `the media-node user data is ${compressed.length} bytes gzip-compressed, above EC2's ${USER_DATA_LIMIT_BYTES}: ` +
        "the files in media-node/ no longer fit in it",
    );
  }
  return compressed;
}
