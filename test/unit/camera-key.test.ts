import { execFileSync } from "node:child_process";
import path from "node:path";
import {
  cameraKey,
  credentialHash,
  masterSecrets,
  matchesCredential,
  newNodeSecret,
  verifyCameraKey,
  verifyViewerKey,
  viewerKey,
} from "../../lambdas/core/credentials";
import { parseCameraKeyArgs } from "../../scripts/camera-key";
import { HELP } from "../../scripts/command-line";
import { parseViewerKeyArgs } from "../../scripts/viewer-key";
import { secretFiles } from "../support/secret-files";

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
    expect(() => parseCameraKeyArgs(argv)).toThrow(message);
  });

  it.each([
    ["a value after '='", ["cam1", "--secret-id=arn:aws:secretsmanager:eu-west-1:1:secret:m"]],
    ["a value after the flag", ["--secret-id", "arn:aws:secretsmanager:eu-west-1:1:secret:m", "cam1"]],
  ])("the CLI reads --secret-id with %s", (_, argv) => {
    expect(parseCameraKeyArgs(argv)).toEqual({
      stream: "cam1",
      secretId: "arn:aws:secretsmanager:eu-west-1:1:secret:m",
      secretEnv: "CAMERA_MASTER_SECRET",
    });
  });

  it.each([[["--help"]], [["-h"]], [["cam1", "-h"]]])("the CLI takes %j as a request for its usage", (argv) => {
    expect(parseCameraKeyArgs(argv)).toBe(HELP);
  });

  it.each([
    ["a missing --secret-env value", ["cam1", "--secret-env"], "--secret-env needs a value"],
    ["a flag for --resolve-url's value", ["cam1", "--resolve-url", "-h"], "--resolve-url needs a value"],
    [
      "a --resolve-url that is not http(s)",
      ["cam1", "--resolve-url=api.example.com"],
      "--resolve-url must be an http:// or https:// URL",
    ],
  ])("the CLI refuses %s", (_, argv, message) => {
    expect(() => parseCameraKeyArgs(argv)).toThrow(message);
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

  const files = secretFiles("camera-key");
  it("prints the key from the master secret in --camera-secret-file, as local mode takes it", () => {
    const root = path.resolve(__dirname, "../..");
    const { CAMERA_MASTER_SECRET: _, ...env } = process.env;
    const out = execFileSync(
      path.join(root, "node_modules/.bin/tsx"),
      ["scripts/camera-key.ts", "cam42", "--camera-secret-file", files.write("master", "master\n")],
      { cwd: root, env, encoding: "utf8" },
    );
    expect(out.trim()).toBe(cameraKey("master", "cam42"));
  });

  it("prints its usage for --help, exit code 0", () => {
    const root = path.resolve(__dirname, "../..");
    const out = execFileSync(path.join(root, "node_modules/.bin/tsx"), ["scripts/camera-key.ts", "--help"], {
      cwd: root,
      encoding: "utf8",
    });
    expect(out).toMatch(/^usage: npm run camera-key -- STREAM /);
  });
});

describe("viewer keys", () => {
  it("npm run viewer-key prints the viewer key from VIEWER_MASTER_SECRET, and takes --play-url", () => {
    const root = path.resolve(__dirname, "../..");
    const out = execFileSync(path.join(root, "node_modules/.bin/tsx"), ["scripts/viewer-key.ts", "cam42"], {
      cwd: root,
      env: { ...process.env, VIEWER_MASTER_SECRET: "master" },
      encoding: "utf8",
    });
    expect(out.trim()).toBe(viewerKey("master", "cam42"));
    expect(parseViewerKeyArgs(["cam42", "--play-url", "https://api.example.com/play"])).toEqual({
      stream: "cam42",
      secretEnv: "VIEWER_MASTER_SECRET",
      url: "https://api.example.com/play",
    });
    expect(() => parseViewerKeyArgs(["cam42", "--resolve-url", "https://x"])).toThrow("unknown option --resolve-url");
  });

  it("are not camera keys: a key opens playing or publishing its stream, not both", () => {
    expect(viewerKey("master", "cam42")).not.toBe(cameraKey("master", "cam42"));
    expect(verifyViewerKey("master", "cam42", cameraKey("master", "cam42"))).toBe(false);
    expect(verifyCameraKey("master", "cam42", viewerKey("master", "cam42"))).toBe(false);
  });
});

describe("node secrets", () => {
  it("are random, 256 bits, one per launch, and only their hash is kept", () => {
    const secrets = new Set(Array.from({ length: 100 }, () => newNodeSecret()));
    expect(secrets.size).toBe(100);
    const secret = [...secrets][0] as string;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const hash = credentialHash(secret);
    expect(hash).not.toContain(secret);
    expect(matchesCredential(hash, secret)).toBe(true);
    expect(matchesCredential(hash, newNodeSecret())).toBe(false);
    expect(matchesCredential(undefined, secret)).toBe(false);
  });
});

describe("rotating a master secret", () => {
  const rotating = JSON.stringify({ current: "new-master", previous: "old-master" });

  it("derives credentials from the current secret", () => {
    expect(cameraKey(rotating, "cam42")).toBe(cameraKey("new-master", "cam42"));
    expect(viewerKey(rotating, "cam42")).toBe(viewerKey("new-master", "cam42"));
  });

  it.each([
    ["a key under the new master", "new-master", true],
    ["a key under the old master", "old-master", true],
    ["a key under another master", "other-master", false],
  ])("accepts %s while rotating: %p", (_, master, accepted) => {
    expect(verifyCameraKey(rotating, "cam42", cameraKey(master, "cam42"))).toBe(accepted);
    expect(verifyViewerKey(rotating, "cam42", viewerKey(master, "cam42"))).toBe(accepted);
  });

  it("reads a plain value, a JSON value without a previous secret, and text that only looks like JSON", () => {
    expect(masterSecrets("plain")).toEqual(["plain"]);
    expect(masterSecrets(JSON.stringify({ current: "a" }))).toEqual(["a"]);
    expect(masterSecrets("{not json")).toEqual(["{not json"]);
    expect(masterSecrets(JSON.stringify({ other: "x" }))).toEqual([JSON.stringify({ other: "x" })]);
  });
});
