/** Shared by the infra tests: the app built from cdk.json's context, tool lookups, temp dirs. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { createFleetApp, type FleetApp } from "../../lib/fleet-app";

export const ROOT = path.join(__dirname, "..", "..");

/** cdk.json's context: the feature flags and the settings' defaults, as the CDK CLI passes them. */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(ROOT, "cdk.json"), "utf8")).context;
}

/** Context that skips asset bundling (esbuild), for tests that only read the template. */
export const SKIP_BUNDLING = { "aws:cdk:bundling-stacks": [] };

/** The app over cdk.json's context plus `overrides`, as `cdk synth -c ...` builds it (cdk-nag included). */
export function buildApp(overrides: Record<string, unknown> = {}, outdir?: string): FleetApp {
  return createFleetApp({ context: { ...cdkJsonContext(), ...overrides }, ...(outdir ? { outdir } : {}) });
}

/**
 * The stack's template, synthesized without bundling, and without cdk-nag at synth: a finding
 * would abort every assertion of the file, so the tests run cdk-nag themselves (`nagFindings`).
 */
export function templateOf(overrides: Record<string, unknown> = {}): { fleetApp: FleetApp; template: Template } {
  const fleetApp = createFleetApp({
    context: { ...cdkJsonContext(), ...SKIP_BUNDLING, ...overrides },
    nagChecks: false,
  });
  return { fleetApp, template: Template.fromStack(fleetApp.stack) };
}

/** cdk-nag AwsSolutions findings left unacknowledged, as "rule at path" lines (errors and warnings alike). */
export function nagFindings(stack: Stack): string[] {
  const report = new AwsSolutionsChecks().validateScope(stack);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath}: ${v.description}`),
  );
}

/** The absolute path of a required tool; fails (never skips) the test when it is missing. */
export function requireTool(name: string, candidates: readonly string[] = []): string {
  for (const candidate of candidates) if (existsSync(candidate)) return candidate;
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  const resolved = found.stdout.trim();
  if (found.status !== 0 || !resolved) {
    throw new Error(`${name} is not installed: run scripts/setup.sh (it installs every tool the tests use)`);
  }
  return resolved;
}

const tempDirs: string[] = [];

/** A fresh temporary directory, removed after the test file. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `rtmp-fleet-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

// Helpers are imported by test files only, so this registers in each file that uses them.
afterAll(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Writes a stack's template to a temporary file, for the command-line tools. */
export function writeTemplate(stack: Stack, name: string): string {
  const file = path.join(tempDir("template"), `${name}.template.json`);
  writeFileSync(file, JSON.stringify(Template.fromStack(stack).toJSON(), null, 1));
  return file;
}

/** cfn-lint from the project venv (scripts/setup.sh installs it). */
export const CFN_LINT = path.join(ROOT, ".venv", "bin", "cfn-lint");

/** One cfn-lint finding. */
export interface CfnLintMatch {
  readonly Level: "Error" | "Warning" | "Informational";
  readonly Rule: { readonly Id: string };
  readonly Message: string;
  readonly Filename: string;
}

/** Runs cfn-lint over templates; returns every finding. @throws when cfn-lint is missing or crashes */
export function cfnLint(files: readonly string[]): CfnLintMatch[] {
  if (!existsSync(CFN_LINT)) throw new Error(`${CFN_LINT} not found: run scripts/setup.sh (it installs cfn-lint)`);
  const result = spawnSync(CFN_LINT, ["--format", "json", "--", ...files], { encoding: "utf8", timeout: 120_000 });
  // Exit codes are a bit mask of the levels found (2 error, 4 warning, 8 info); anything else is a crash.
  if (result.status === null || result.status > 14 || result.status % 2 === 1) {
    throw new Error(`cfn-lint failed (${result.status}): ${result.stderr}`);
  }
  return JSON.parse(result.stdout || "[]");
}

/** cfn-lint's errors over templates, as readable lines (warnings are only printed). */
export function cfnLintErrors(files: readonly string[]): string[] {
  const matches = cfnLint(files);
  const warnings = matches.filter((m) => m.Level !== "Error");
  if (warnings.length > 0) {
    const rules = [...new Set(warnings.map((m) => m.Rule.Id))].join(", ");
    console.info(`cfn-lint: ${warnings.length} warnings (${rules}) in ${files.length} templates, no error`);
  }
  return matches.filter((m) => m.Level === "Error").map((m) => `${m.Rule.Id} ${m.Filename}: ${m.Message}`);
}
