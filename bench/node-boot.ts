/**
 * `npm run bench:boot`: how long a media node takes from power-on to ready, booted for real (the
 * launch template's user data in a Debian 12 root filesystem under systemd-nspawn, apt from
 * Debian's mirror, stand-in metadata, SSM and API over TLS on 127.0.0.1; test/support/node-boot.ts).
 * Times each stage the node reports (POST /nodes/boot) and its first ready heartbeat, over
 * BENCH_BOOT_RUNS boots (default 3). BENCH_BOOT_COLD=1 first removes the cached root filesystem,
 * to time building it too. Needs root. Writes its section of docs/BENCHMARKS.md.
 */
import { rmSync } from "node:fs";
import path from "node:path";
import { waitFor } from "../test/support/local-mode";
import { bootNode, bootReports, bootSite, shutDown } from "../test/support/node-boot";
import { machine, markdownTable, writeSection } from "./markdown";

const RUNS = Number(process.env.BENCH_BOOT_RUNS ?? 3);
const STAGES = ["secret", "packages", "config", "started"] as const;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("bench:boot needs root (systemd-nspawn, debootstrap)");
  if (process.env.BENCH_BOOT_COLD === "1")
    rmSync(path.resolve(__dirname, "../.tmp/node-rootfs"), { recursive: true, force: true });
  const buildStarted = Date.now();
  const site = bootSite((line) => console.log(line));
  const buildSeconds = (Date.now() - buildStarted) / 1000;
  const rows: (string | number)[][] = [];
  try {
    for (let run = 1; run <= RUNS; run++) {
      const boot = await bootNode(site, `i-0be7c000000000${run.toString(16).padStart(3, "0")}`, 2);
      try {
        const seen = new Map<string, number>();
        const at = () => (Date.now() - boot.container.startedAt) / 1000;
        await waitFor(
          "a ready heartbeat",
          async () => {
            for (const report of bootReports(boot))
              if (!seen.has(report.stage ?? "")) seen.set(report.stage ?? "", at());
            return boot.api.heartbeats().some((h) => h.ready) && at();
          },
          300_000,
        ).then((ready) => seen.set("ready", ready));
        const row = [
          run,
          ...STAGES.map((stage) => seen.get(stage)?.toFixed(1) ?? "-"),
          seen.get("ready")?.toFixed(1) ?? "-",
        ];
        console.log(row.join(" "));
        rows.push(row);
      } finally {
        await shutDown(boot);
      }
    }
  } finally {
    site.close();
  }
  writeSection(
    "node-boot",
    [
      `Command: \`npm run bench:boot\` (${machine()}; root). The launch template's user data boots a Debian 12 root filesystem (debootstrap minbase with systemd, python3, curl, CA certificates, as an Ubuntu cloud image has them) under systemd-nspawn on this machine's network; apt installs nginx, libnginx-mod-rtmp and nftables from Debian's mirror; metadata, SSM and the API (over TLS) are stand-ins on 127.0.0.1. Seconds from power-on to each stage the node reports (\`POST /nodes/boot\`) and to its agent's first ready heartbeat (the node is ACTIVE).`,
      "",
      site.built
        ? `The root filesystem was built first, in ${buildSeconds.toFixed(0)} s (cached afterwards in \`.tmp/node-rootfs\`).`
        : "The root filesystem was cached already (`.tmp/node-rootfs`); building it takes about a minute.",
      "",
      markdownTable(["boot", "secret read", "packages (first attempt)", "configured", "units started", "ready"], rows),
      "",
      "An EC2 instance adds its own start (before the user data runs: firmware, kernel, cloud-init, a few tens of seconds) and Ubuntu's mirror instead of Debian's; the launch hook allows 10 minutes, and each stage reported keeps it alive.",
    ].join("\n"),
  );
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
