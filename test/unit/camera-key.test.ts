import { execFileSync } from "node:child_process";
import path from "node:path";
import { cameraKey, verifyCameraKey } from "../../lambdas/core/credentials";
import { parseArgs } from "../../scripts/camera-key";

describe("camera keys", () => {
  it("derives a 22-character key per stream that verifies only for that stream", () => {
    const key = cameraKey("master", "cam42");
    expect(key).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(verifyCameraKey("master", "cam42", key)).toBe(true);
    expect(verifyCameraKey("master", "cam43", key)).toBe(false);
    expect(verifyCameraKey("other-master", "cam42", key)).toBe(false);
  });

  it.each([
    [[], "usage"],
    [["a", "b"], "usage"],
    [["bad name"], "only letters"],
    [["cam1", "--secret-id"], "needs a value"],
    [["cam1", "--colour", "red"], "unknown option --colour"],
  ])("the CLI refuses %j", (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });

  it("prints the key from the master secret in the environment", () => {
    const root = path.resolve(__dirname, "../..");
    const out = execFileSync(path.join(root, "node_modules/.bin/tsx"), ["scripts/camera-key.ts", "cam42"], {
      cwd: root,
      env: { ...process.env, CAMERA_MASTER_SECRET: "master" },
      encoding: "utf8",
    });
    expect(out.trim()).toBe(cameraKey("master", "cam42"));
  });
});
