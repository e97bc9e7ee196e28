#!/usr/bin/env node
// Records in package-lock.json the platform-specific optional packages (other OSes' and CPUs'
// native binaries of biome, swc, ...) that `npm install` could not resolve because the package
// registry this project is built against does not carry them. Without their entries `npm ci`
// refuses the lock as out of sync. Each entry gets the os/cpu/libc its name says, so npm skips it
// on other platforms without fetching it. Run after `npm install` changes the lock:
//   node scripts/lock-platform-optionals.mjs && npm ci
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

const lockPath = new URL("../package-lock.json", import.meta.url);
let out = "";
try {
  execFileSync("npm", ["ci", "--dry-run", "--no-audit", "--no-fund"], { stdio: "pipe" });
  console.log("lock: npm ci accepts package-lock.json as it is");
  process.exit(0);
} catch (error) {
  out = `${error.stdout ?? ""}${error.stderr ?? ""}`;
}
const missing = [...out.matchAll(/Missing: (@?[^@\s]+)@(\S*) from lock file/g)].map((m) => m[1]);
if (missing.length === 0) {
  console.error(out);
  process.exit(1);
}
const lock = JSON.parse(readFileSync(lockPath, "utf8"));
const OSES = ["android", "darwin", "linux", "win32", "freebsd", "openharmony", "sunos", "aix", "netbsd", "openbsd"];
const CPUS = ["arm64", "x64", "arm", "ppc64", "s390x", "ia32", "loong64", "riscv64", "wasm32"];
for (const name of missing) {
  const parts = name.split("/").pop().split("-");
  const os = OSES.find((o) => parts.includes(o));
  const cpu = CPUS.find((c) => parts.includes(c));
  // Find the parent that asks for it, for its version and dev flag.
  const parent = Object.values(lock.packages).find((p) => p.optionalDependencies?.[name]);
  if (!parent || !os || !cpu) throw new Error(`cannot place ${name} (os ${os}, cpu ${cpu})`);
  const entry = { version: parent.optionalDependencies[name], cpu: [cpu], optional: true, os: [os] };
  if (parent.dev) entry.dev = true;
  if (os === "linux") entry.libc = [parts.some((p) => p.startsWith("musl")) ? "musl" : "glibc"];
  lock.packages[`node_modules/${name}`] = entry;
  console.log(`lock: recorded ${name}@${entry.version} (${os}/${cpu})`);
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))),
);
writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
