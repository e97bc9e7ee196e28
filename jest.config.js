/**
 * Test projects, from fast to slow. `npm test` runs them all; `npx jest --selectProjects unit` runs one.
 * TypeScript is transpiled by swc (type checking is `npm run typecheck`, part of the test command).
 */
const transform = { "^.+\\.(t|j)sx?$": ["@swc/jest", { jsc: { target: "es2022" } }] };
// @middy/core is ESM only: let swc turn it into CommonJS for jest.
const transformIgnorePatterns = ["/node_modules/(?!@middy/)"];
const common = { transform, transformIgnorePatterns, testEnvironment: "node" };

const project = (name, extra = {}) => ({
  ...common,
  displayName: name,
  testMatch: [`<rootDir>/test/${name}/**/*.test.ts`],
  setupFiles: ["<rootDir>/test/support/jest-env.ts"],
  setupFilesAfterEnv: ["aws-sdk-client-mock-jest"],
  ...extra,
});

module.exports = {
  projects: [
    project("unit"),
    project("handlers"),
    // The fleet simulator: traces, policies, the benchmark driver.
    project("sim", { testTimeout: 120_000 }),
    // Each integration test file starts its own moto server (test/support/moto.ts).
    project("integration", { testTimeout: 60_000 }),
    // Synth, cdk-nag, cfn-lint, nginx -t, shellcheck.
    project("infra", { testTimeout: 300_000 }),
    // Local mode with real nginx-rtmp nodes and ffmpeg cameras.
    project("e2e", { testTimeout: 300_000 }),
  ],
};
