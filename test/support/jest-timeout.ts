// Applies the project's per-test timeout (jest.config.js `globals.projectTestTimeoutMs`): jest
// ignores `testTimeout` inside a project, so without this every project would get 5 s.
const timeoutMs = (globalThis as { projectTestTimeoutMs?: unknown }).projectTestTimeoutMs;
if (typeof timeoutMs !== "number") throw new Error("jest.config.js must set globals.projectTestTimeoutMs");
jest.setTimeout(timeoutMs);
