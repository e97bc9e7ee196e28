/**
 * Test projects, from fast to slow. `npm test` runs them all; `npx jest --selectProjects unit` runs one.
 * TypeScript is transpiled by swc (type checking is `npm run typecheck`, part of the test command).
 */
const transform = { "^.+\\.(t|j)sx?$": ["@swc/jest", { jsc: { target: "es2022" } }] };
// @middy/core is ESM only: let swc turn it into CommonJS for jest.
const transformIgnorePatterns = ["/node_modules/(?!@middy/)"];
const common = { transform, transformIgnorePatterns, testEnvironment: "node" };

/**
 * One jest project per folder of test/. `timeoutMs` is the project's per-test timeout: jest reads
 * `testTimeout` only from the top-level config, so test/support/jest-timeout.ts applies it.
 */
const project = (name, timeoutMs = 5_000) => ({
  ...common,
  displayName: name,
  testMatch: [`<rootDir>/test/${name}/**/*.test.ts`],
  setupFiles: ["<rootDir>/test/support/jest-env.ts"],
  setupFilesAfterEnv: ["aws-sdk-client-mock-jest", "<rootDir>/test/support/jest-timeout.ts"],
  globals: { projectTestTimeoutMs: timeoutMs },
});

module.exports = {
  projects: [
    project("unit"),
    project("handlers"),
    // The fleet simulator: traces, policies, the benchmark driver.
    project("sim", 120_000),
    // Each integration test file starts its own moto server (test/support/moto.ts).
    project("integration", 60_000),
    // Synth, cdk-nag, cfn-lint, nginx -t, shellcheck.
    project("infra", 300_000),
    // One media node at a time (real nginx-rtmp, ffmpeg cameras and players) against a stand-in API or the real handlers.
    project("node", 300_000),
    // Local mode with real nginx-rtmp nodes and ffmpeg cameras.
    project("e2e", 300_000),
    // The node's bootstrap in a Debian root filesystem under systemd-nspawn (root; builds it once).
    project("boot", 900_000),
  ],
};
