/**
 * The installable construct (construct/): packed for real by `npm pack`, which builds it first
 * (`npm run build:lib`), installed from the tarball into a scratch CDK app in a temporary directory
 * outside the repository, where no repository path can resolve, and synthesized there: the app is
 * construct/README.md's example, type-checked against the package's declarations and run.
 *
 * Offline by construction: the library has no dependencies, so `npm install --offline` of the
 * tarball needs nothing from the registry (peer dependencies are left to the app with
 * --legacy-peer-deps), and the app's own aws-cdk-lib and constructs are links to this repository's
 * node_modules, as a CDK user's would be installed. Linking, not copying or priming an npm cache,
 * because aws-cdk-lib is hundreds of megabytes; Node resolves a link by its real path, so the app,
 * the package and aws-cdk-lib share one copy of constructs, as in a real install.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Template } from "aws-cdk-lib/assertions";
import { FUNCTION_NAMES, STATUS_PAGE_FILES } from "../../lambdas/contract";
import { MEDIA_NODE_FILES, mediaNodeUserData } from "../../lib/media-node-user-data";
import { ROOT, tempDir } from "./helpers";

const CONSTRUCT_DIR = path.join(ROOT, "construct");
const PACKAGE_NAME: string = JSON.parse(readFileSync(path.join(CONSTRUCT_DIR, "package.json"), "utf8")).name;
/** The Lambdas the package must ship prebuilt: the control plane's and the teardown's. */
const BUNDLE_NAMES = [...FUNCTION_NAMES, "teardown"].sort();
const STACK = "CameraIngest";

/** Runs a command, returning its stdout; fails with its output when it exits non-zero. */
function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(command, args, { cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    // Node prints the line an error was thrown from: in minified code, a line of thousands of characters.
    const output = `${result.stderr}\n${result.stdout}`.replace(/^(.{300}).+$/gm, "$1...");
    throw new Error(`${command} ${args.join(" ")} failed (${result.status}):\n${output}`);
  }
  return result.stdout;
}

/** The example app of construct/README.md: its first TypeScript block. */
function readmeExample(): string {
  const example = /```ts\n([\s\S]*?)```/.exec(readFileSync(path.join(CONSTRUCT_DIR, "README.md"), "utf8"))?.[1];
  if (!example) throw new Error("construct/README.md has no ```ts example");
  return example;
}

let tarball: string;
let tarballFiles: string[];
let installed: string;
let outdir: string;
let template: Template;

beforeAll(() => {
  const packDir = tempDir("pack");
  run("npm", ["pack", "--pack-destination", packDir], CONSTRUCT_DIR);
  const [file] = readdirSync(packDir).filter((name) => name.endsWith(".tgz"));
  if (!file) throw new Error(`npm pack wrote no tarball in ${packDir}`);
  tarball = path.join(packDir, file);
  tarballFiles = run("tar", ["-tzf", tarball], packDir)
    .split("\n")
    .filter(Boolean)
    .map((entry) => entry.replace(/^package\//, ""));

  const app = tempDir("consumer");
  writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "scratch-fleet-app", private: true }));
  // An empty cache: nothing but the tarball can be installed, and nothing is fetched.
  const cache = tempDir("npm-cache");
  run("npm", ["install", "--offline", "--cache", cache, "--legacy-peer-deps", "--no-audit", "--no-fund", tarball], app);
  for (const peer of ["aws-cdk-lib", "constructs"]) {
    symlinkSync(path.join(ROOT, "node_modules", peer), path.join(app, "node_modules", peer), "dir");
  }
  installed = path.join(app, "node_modules", PACKAGE_NAME);

  writeFileSync(path.join(app, "app.ts"), readmeExample());
  writeFileSync(
    path.join(app, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { target: "ES2022", module: "nodenext", strict: true, skipLibCheck: true } }),
  );
  run(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", app], app);
  outdir = path.join(app, "cdk.out");
  run(process.execPath, ["app.js"], app, { ...process.env, CDK_OUTDIR: outdir });
  template = Template.fromJSON(JSON.parse(readFileSync(path.join(outdir, `${STACK}.template.json`), "utf8")));
});

describe("the packed construct", () => {
  it("is installed into an app outside the repository, where no repository path can resolve", () => {
    expect(path.relative(ROOT, installed).startsWith("..")).toBe(true);
    expect(path.relative(ROOT, tarball).startsWith("..")).toBe(true);
  });

  it("ships the compiled construct, its declarations, the prebuilt Lambdas and the node's files, and nothing else", () => {
    const allowed = [
      /^(package\.json|README\.md|LICENSE|THIRD-PARTY-NOTICES\.md)$/,
      /^dist\/(lib|lambdas)\/[\w/.-]+\.(js|d\.ts)$/,
      /^dist\/lambda-bundles\/[\w-]+\/index\.js(\.map)?$/,
      /^dist\/media-node\/[\w.-]+$/,
    ];
    // The status page and its chart library, beside the status Lambda's code.
    const pageFiles = new Set(STATUS_PAGE_FILES.map((file) => `dist/lambda-bundles/status/${path.basename(file)}`));
    expect(
      tarballFiles.filter((file) => !pageFiles.has(file) && !allowed.some((pattern) => pattern.test(file))),
    ).toEqual([]);
    expect(tarballFiles).toEqual(expect.arrayContaining([...pageFiles]));
    expect(tarballFiles).toEqual(expect.arrayContaining(["LICENSE", "README.md", "THIRD-PARTY-NOTICES.md"]));
    const bundles = tarballFiles.filter((file) => file.startsWith("dist/lambda-bundles/"));
    expect([...new Set(bundles.map((file) => file.split("/")[2]))].sort()).toEqual(BUNDLE_NAMES);
    expect(bundles).toHaveLength(2 * BUNDLE_NAMES.length + STATUS_PAGE_FILES.length);
    expect(tarballFiles.filter((file) => file.startsWith("dist/media-node/")).sort()).toEqual(
      MEDIA_NODE_FILES.map((name) => `dist/media-node/${name}`).sort(),
    );
  });

  it("names the status page's chart library, uPlot (MIT), in its third-party notices", () => {
    const notices = readFileSync(path.join(installed, "THIRD-PARTY-NOTICES.md"), "utf8");
    expect(notices).toMatch(/^## MIT: .*uplot@\d+\.\d+\.\d+/m);
  });

  it("requires nothing at run time but aws-cdk-lib, constructs and Node's own modules", () => {
    const required = new Set<string>();
    for (const file of tarballFiles.filter((f) => /^dist\/(lib|lambdas)\/.*\.js$/.test(f))) {
      const code = readFileSync(path.join(installed, file), "utf8");
      for (const [, specifier] of code.matchAll(/require\("([^"]+)"\)/g)) {
        if (specifier && !specifier.startsWith(".")) required.add(specifier.split("/")[0] as string);
      }
    }
    const allowed = (name: string) => name === "aws-cdk-lib" || name === "constructs" || name.startsWith("node:");
    expect([...required].filter((name) => !allowed(name))).toEqual([]);
  });
});

describe("a scratch CDK app with the package installed", () => {
  it("synthesizes the README's example without an error", () => {
    const manifest = JSON.parse(readFileSync(path.join(outdir, "manifest.json"), "utf8"));
    const entries = Object.values(manifest.artifacts as Record<string, { metadata?: object }>).flatMap((artifact) =>
      Object.values(artifact.metadata ?? {}).flat(),
    ) as { type: string; data: unknown }[];
    expect(entries.filter((entry) => entry.type === "aws:cdk:error")).toEqual([]);
  });

  it("has the media-node group and the registry table", () => {
    template.resourceCountIs("AWS::AutoScaling::AutoScalingGroup", 1);
    template.resourceCountIs("AWS::DynamoDB::Table", 1);
  });

  it("gives every Lambda of the fleet the package's prebuilt bundle, byte for byte", () => {
    const bundleOf = new Map(
      BUNDLE_NAMES.map((name) => [
        readFileSync(path.join(installed, "dist", "lambda-bundles", name, "index.js"), "utf8"),
        name,
      ]),
    );
    const deployed = Object.values(template.findResources("AWS::Lambda::Function")).flatMap((fn) => {
      const key = fn.Properties.Code.S3Key as string;
      const code = path.join(outdir, `asset.${key.replace(/\.zip$/, "")}`, "index.js");
      const name = existsSync(code) ? bundleOf.get(readFileSync(code, "utf8")) : undefined;
      return name ? [name] : [];
    });
    expect(deployed.sort()).toEqual(BUNDLE_NAMES);
  });

  it("gives the nodes the user data of the repository's media-node/ files, from the package's copy", () => {
    const templates = Object.values(template.findResources("AWS::EC2::LaunchTemplate"));
    expect(templates.map((t) => t.Properties.LaunchTemplateData.UserData)).toEqual([
      mediaNodeUserData().toString("base64"),
    ]);
  });
});
