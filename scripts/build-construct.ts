/**
 * `npm run build:lib`: builds the installable library in construct/ (`npm pack` there runs it
 * first): the construct compiled to JavaScript with its declarations, every Lambda bundled once by
 * the same NodejsFunction bundling that a synth from source runs, the media node's files, the
 * LICENSE, and the notices of the third-party code inside the bundles. Everything it writes is
 * generated (ignored by git): construct/README.md says why the library is a package of its own.
 */
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { App, Stack } from "aws-cdk-lib";
import type { CfnFunction } from "aws-cdk-lib/aws-lambda";
import { FleetFunction } from "../lib/fleet-function";
import { MEDIA_NODE_FILES, MEDIA_NODE_SOURCE_DIR } from "../lib/media-node-user-data";
import { RtmpFleet } from "../lib/rtmp-fleet";
import { type CommandSpec, noArguments } from "./command-line";

const ROOT = path.resolve(__dirname, "..");
/** The library's package: its package.json, README.md and tsconfig.json are sources, the rest is built. */
const CONSTRUCT_DIR = path.join(ROOT, "construct");
const DIST = path.join(CONSTRUCT_DIR, "dist");
/** Where lib/fleet-function.ts looks for the prebuilt bundles once compiled into dist/lib. */
const BUNDLES_DIR = path.join(DIST, "lambda-bundles");
/** Where lib/media-node-user-data.ts reads the node's files once compiled into dist/lib. */
const MEDIA_NODE_DIR = path.join(DIST, "media-node");
const NOTICES_FILE = "THIRD-PARTY-NOTICES.md";

/**
 * Licenses whose code may ship inside this Apache-2.0 package, provided their notices go with it:
 * a bundled package under any other license fails the build rather than ship unnoticed.
 */
const COMPATIBLE_LICENSES: ReadonlySet<string> = new Set([
  "Apache-2.0",
  "MIT",
  "MIT-0",
  "ISC",
  "0BSD",
  "BSD-2-Clause",
  "BSD-3-Clause",
]);

/** Compiles lib/index.ts and what it imports into dist/ (construct/tsconfig.json). */
function compile(): void {
  const tsc = require.resolve("typescript/bin/tsc");
  const run = spawnSync(process.execPath, [tsc, "-p", CONSTRUCT_DIR], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`tsc -p construct failed (exit ${run.status}):\n${run.stdout}${run.stderr}`);
}

/**
 * Bundles every Lambda of a default fleet, from source, as `cdk synth` would, and copies each bundle
 * to dist/lambda-bundles/<bundle name>. The fleet's own FleetFunctions are the list, so a Lambda
 * added to the construct is prebuilt with no list to update here.
 * @returns the directory each bundle was built in, whose source maps name the files inside it, and
 * the files of the repository copied beside the bundles (the status page's chart library)
 */
function bundleLambdas(stagingDir: string): { staged: string[]; copied: string[] } {
  const stack = new Stack(new App({ outdir: stagingDir }), "Bundles");
  new RtmpFleet(stack, "Fleet");
  const functions = stack.node.findAll().filter((c): c is FleetFunction => c instanceof FleetFunction);
  const staged = functions.map((fn) => {
    const { s3Key } = stack.resolve((fn.function.node.defaultChild as CfnFunction).code);
    const dir = path.join(stagingDir, `asset.${String(s3Key).replace(/\.zip$/, "")}`);
    cpSync(dir, path.join(BUNDLES_DIR, fn.bundleName), { recursive: true });
    return dir;
  });
  return { staged, copied: functions.flatMap((fn) => fn.files.map((file) => path.join(ROOT, file))) };
}

function copyMediaNodeFiles(): void {
  mkdirSync(MEDIA_NODE_DIR, { recursive: true });
  for (const name of MEDIA_NODE_FILES)
    copyFileSync(path.join(MEDIA_NODE_SOURCE_DIR, name), path.join(MEDIA_NODE_DIR, name));
}

/** An npm package whose code is inside a bundle. */
interface BundledPackage {
  readonly id: string;
  readonly license: string;
  /** Its license file and NOTICE file, as shipped in the package. */
  readonly noticeText: string;
}

/** The package directory of a bundled file: up to its innermost `node_modules/<name>`. */
function packageDirOf(file: string): string | undefined {
  const match = /^(.*\/node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(file);
  return match?.[1];
}

function readPackage(dir: string): BundledPackage {
  const manifest = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
  const id = `${manifest.name}@${manifest.version}`;
  const license = manifest.license;
  if (typeof license !== "string" || !COMPATIBLE_LICENSES.has(license)) {
    throw new Error(
      `${id} is bundled into a Lambda but its license ${JSON.stringify(license)} is not one of ` +
        `${[...COMPATIBLE_LICENSES].join(", ")}: check it is compatible with Apache-2.0 and add it`,
    );
  }
  const files = readdirSync(dir)
    .filter((name) => /^(licen[cs]e|notice)(\.(md|txt))?$/i.test(name))
    .sort();
  const noticeText = files.map((name) => readFileSync(path.join(dir, name), "utf8").trim()).join("\n\n");
  return { id, license, noticeText: noticeText || `(${id} ships no license file; its package.json says ${license})` };
}

/**
 * The npm packages whose code is inside the bundles: from the files their source maps name, and
 * the files copied beside them.
 */
function bundledPackages(stagedDirs: readonly string[], copied: readonly string[]): BundledPackage[] {
  const dirs = new Set(copied.map(packageDirOf).filter((dir): dir is string => dir !== undefined));
  for (const staged of stagedDirs) {
    const map = JSON.parse(readFileSync(path.join(staged, "index.js.map"), "utf8"));
    for (const source of map.sources as string[]) {
      const dir = packageDirOf(path.resolve(staged, source));
      if (dir) dirs.add(dir);
    }
  }
  return [...dirs].map(readPackage).sort((a, b) => a.id.localeCompare(b.id));
}

/** The notices file: each distinct license text once, after the packages it covers. */
function noticesMarkdown(packages: readonly BundledPackage[]): string {
  const byText = new Map<string, BundledPackage[]>();
  for (const pkg of packages) byText.set(pkg.noticeText, [...(byText.get(pkg.noticeText) ?? []), pkg]);
  const sections = [...byText].map(([text, covered]) =>
    [`## ${covered[0]?.license}: ${covered.map((pkg) => pkg.id).join(", ")}`, "", "```text", text, "```"].join("\n"),
  );
  return [
    "# Third-party notices",
    "",
    `The Lambda bundles in dist/lambda-bundles contain code of these ${packages.length} npm packages`,
    "(read from the bundles' source maps when the package was built), each under the license that follows it.",
    "",
    ...sections.flatMap((section) => [section, ""]),
  ].join("\n");
}

const COMMAND: CommandSpec = {
  name: "build:lib",
  synopsis: "npm run build:lib",
  summary:
    "Builds the installable construct in construct/: compiled code and declarations, the Lambdas bundled, " +
    "the media node's files, LICENSE and third-party notices.",
  options: {},
};

function main(): void {
  if (!noArguments(COMMAND)) return;
  rmSync(DIST, { recursive: true, force: true });
  compile();
  const stagingDir = mkdtempSync(path.join(tmpdir(), "rtmp-fleet-bundles-"));
  try {
    const { staged, copied } = bundleLambdas(stagingDir);
    writeFileSync(path.join(CONSTRUCT_DIR, NOTICES_FILE), noticesMarkdown(bundledPackages(staged, copied)));
    console.log(`build:lib: ${staged.length} Lambdas bundled into ${path.relative(ROOT, BUNDLES_DIR)}`);
  } finally {
    rmSync(stagingDir, { recursive: true, force: true });
  }
  copyMediaNodeFiles();
  copyFileSync(path.join(ROOT, "LICENSE"), path.join(CONSTRUCT_DIR, "LICENSE"));
}

if (require.main === module) main();
