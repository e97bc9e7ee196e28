/**
 * The real synth: esbuild bundles every Lambda, cdk-nag runs as part of synthesis (the app adds it
 * as a validation plugin, so a finding fails synth), and cfn-lint checks the cloud assembly's
 * templates. The other infra tests skip bundling to stay fast; this one does it once.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { CloudAssembly } from "aws-cdk-lib/cx-api";
import { ENV, FUNCTION_NAMES, STATUS_PAGE_FILES } from "../../lambdas/contract";
import type { FleetApp } from "../../lib/fleet-app";
import { buildApp, cfnLint, cfnLintErrors, SKIP_BUNDLING, tempDir } from "./helpers";

let fleetApp: FleetApp;
let assembly: CloudAssembly;
let outdir: string;

beforeAll(() => {
  outdir = tempDir("cdk-out");
  fleetApp = buildApp({}, outdir);
  assembly = fleetApp.app.synth();
});

/** The staged bundle directory of each of the fleet's Lambdas, by entry point. */
function bundleDirs(): Record<string, string> {
  const template = assembly.getStackByName(fleetApp.stack.stackName).template;
  return Object.fromEntries(
    Object.entries(fleetApp.stack.fleet.functions).map(([entry, fn]) => {
      const id = fleetApp.stack.getLogicalId(fn.function.node.defaultChild as never);
      const key: string = template.Resources[id].Properties.Code.S3Key;
      return [entry, path.join(outdir, `asset.${key.replace(/\.zip$/, "")}`)];
    }),
  );
}

describe("synth with bundling", () => {
  it("passes cdk-nag, which runs as part of synth, and writes one template without lookups", () => {
    expect(assembly.stacks.map((s) => s.stackName)).toEqual(["RtmpFleet"]);
    expect(assembly.manifest.missing ?? []).toEqual([]);
  });

  it("bundles every Lambda: one minified index.js with its source map, the AWS SDK inside", () => {
    const dirs = bundleDirs();
    expect(Object.keys(dirs)).toHaveLength(FUNCTION_NAMES.length);
    for (const [entry, dir] of Object.entries(dirs)) {
      expect([entry, existsSync(path.join(dir, "index.js")), existsSync(path.join(dir, "index.js.map"))]).toEqual([
        entry,
        true,
        true,
      ]);
      const code = readFileSync(path.join(dir, "index.js"), "utf8");
      const lines = code.split("\n");
      // Minified: a few very long lines, not one statement per line.
      expect([entry, code.length / lines.length > 1000]).toEqual([entry, true]);
      expect(code).toMatch(/\/\/# sourceMappingURL=index\.js\.map\s*$/);
      // Bundled, not left to the runtime's copy: no require() of an SDK client (only the SDK's own
      // optional require of @aws-sdk/signature-v4-crt, inside a try, remains).
      expect([entry, /require\(["']@aws-sdk\/(client-|lib-)/.test(code)]).toEqual([entry, false]);
      expect([entry, code.includes("DynamoDB_20120810")]).toEqual([entry, true]);
      expect(statSync(path.join(dir, "index.js")).size).toBeLessThan(5 * 1024 * 1024);
      const copied = entry === "status" ? STATUS_PAGE_FILES.map((file) => path.basename(file)) : [];
      expect([entry, readdirSync(dir).sort()]).toEqual([entry, ["index.js", "index.js.map", ...copied].sort()]);
    }
  });

  it("bundles the status page with its chart library: the status Lambda serves it from its bundle alone", () => {
    // The bundle copied away from the repository, so that nothing can be read from its sources.
    const alone = tempDir("status-bundle");
    cpSync(bundleDirs().status as string, alone, { recursive: true });
    const event = { routeKey: "GET /", rawPath: "/", rawQueryString: "", headers: {}, requestContext: {} };
    const run = spawnSync(
      process.execPath,
      ["-e", `require("./index.js").handler(${JSON.stringify(event)}, {}).then((r) => process.stdout.write(r.body))`],
      {
        cwd: alone,
        encoding: "utf8",
        env: {
          PATH: process.env.PATH,
          [ENV.table]: "t",
          [ENV.groupName]: "g",
          [ENV.launchHook]: "l",
          [ENV.terminateHook]: "t",
          AWS_REGION: "eu-west-1",
        },
      },
    );
    expect([run.status, run.stderr]).toEqual([0, expect.not.stringMatching(/error/i)]);
    expect(run.stdout).toContain("<title>rtmp-fleet status</title>");
    // uPlot's code and style, inlined: the page loads nothing from elsewhere.
    expect(run.stdout).toContain("uPlot");
    expect(run.stdout).toContain(".uplot");
    expect(run.stdout).not.toMatch(/<script[^>]*\ssrc=|<link[^>]*\shref=/);
  });

  it("passes cfn-lint without errors (every template of the assembly)", () => {
    const templates = assembly.stacks.map((s) => s.templateFullPath);
    expect(cfnLintErrors(templates)).toEqual([]);
  });

  it("cfn-lint does report an error in a broken template (the check can fail)", () => {
    const template = assembly.getStackByName(fleetApp.stack.stackName).template;
    const group = Object.values(template.Resources as Record<string, { Type: string; Properties: object }>).find(
      (r) => r.Type === "AWS::AutoScaling::AutoScalingGroup",
    );
    if (!group) throw new Error("no group in the template");
    group.Properties = { ...group.Properties, MinSize: "one", DesiredCapacityType: "lots" };
    const broken = path.join(tempDir("broken"), "broken.template.json");
    writeFileSync(broken, JSON.stringify(template));
    expect(cfnLint([broken]).filter((m) => m.Level === "Error").length).toBeGreaterThan(0);
  });
});

describe("cdk-nag at synth", () => {
  it("fails synth on a finding nothing acknowledges (what `cdk synth` does too)", () => {
    const probe = buildApp({ ...SKIP_BUNDLING, stackName: "NagAtSynth" }, tempDir("cdk-out-nag"));
    probe.stack.fleet.functions.done.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ["s3:*"], resources: ["*"] }),
    );
    expect(() => probe.app.synth()).toThrow(/AwsSolutions-IAM5\[Action::s3:\*\]/);
  });
});
