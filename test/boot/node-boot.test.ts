/**
 * The bootstrap, run for real: the launch template's own user data (lib/media-node-user-data.ts,
 * gzip-compressed, decompressed as cloud-init does) boots a Debian 12 root filesystem with systemd
 * under systemd-nspawn (test/support/node-container.ts), with stand-in instance metadata (IMDSv2,
 * the instance's tags) and SSM (SigV4 checked) and a stand-in API over TLS (a local CA, two
 * intermediates), all on 127.0.0.1. apt installs the node's packages from
 * Debian's mirror. The node must report its progress, reach ACTIVE (its agent's ready heartbeat
 * through the shim over TLS), carry a camera (ffmpeg on this host), and run its units; a boot
 * that cannot install its packages must report why and fail. A node launched into the warm pool
 * must prepare, complete its own launch and join nothing, then start as a node, without apt, when
 * it enters the group.
 */
import { connect, type Socket } from "node:net";
import path from "node:path";
import { LIFECYCLE, NODE_SETTING_TAGS } from "../../lambdas/contract";
import { instanceTagReads } from "../support/aws-stand-ins";
import { Camera, encodeClip, waitFor } from "../support/local-mode";
import { type Boot, type BootSite, bootNode, bootReports, bootSite, GROUP_NAME, shutDown } from "../support/node-boot";
import { USER_DATA_DIR } from "../support/node-container";

const HEARTBEAT_SECONDS = 2;
let site: BootSite;

beforeAll(() => {
  site = bootSite((line) => console.info(line));
});

afterAll(() => {
  site?.close();
});

describe("a node booted from its user data", () => {
  let boot: Boot;
  let readyAfter: number;

  beforeAll(async () => {
    boot = await bootNode(site, "i-0b007ed000000001a", HEARTBEAT_SECONDS);
  });

  afterAll(async () => {
    await shutDown(boot);
  });

  it("reaches ACTIVE: its agent's ready heartbeat arrives through the shim, over TLS, as the node", async () => {
    const beat = await waitFor(
      "a ready heartbeat",
      async () => boot.api.heartbeats().find((h) => h.ready),
      300_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${boot.container.console.slice(-4000)}`);
    });
    readyAfter = (Date.now() - boot.container.startedAt) / 1000;
    console.info(`boot to ready: ${readyAfter.toFixed(1)} s`);
    expect(beat).toMatchObject({ rtmpBaseUrl: `rtmp://127.0.0.1:${boot.rtmpPort}/live`, streams: [] });
    expect(boot.api.calls.find((c) => c.path === "/nodes/heartbeat")?.headers).toMatchObject({
      "x-node-id": boot.instanceId,
      "x-node-secret": boot.secret,
    });
  });

  it("read its settings from its instance tags, its secret from SSM with a valid SigV4 signature, and reported every stage of its boot as the node", () => {
    expect(instanceTagReads(boot.aws)).toEqual(Object.values(NODE_SETTING_TAGS));
    expect(boot.aws.seen.ssmProblems).toEqual([undefined]);
    expect(bootReports(boot)).toEqual([
      { stage: "secret" },
      { stage: "packages" },
      { stage: "config" },
      { stage: "started" },
    ]);
    for (const call of boot.api.calls.filter((c) => c.path === "/nodes/boot")) {
      expect(call.headers).toMatchObject({ "x-node-id": boot.instanceId, "x-node-secret": boot.secret });
    }
  });

  it("had each report accepted by the control plane's handler, which extended its launch each time", () => {
    expect(boot.api.calls.filter((c) => c.path === "/nodes/boot").map((c) => c.status)).toEqual([200, 200, 200, 200]);
    expect(boot.control.launchActions).toEqual(["extend", "extend", "extend", "extend"]);
  });

  it("keeps its shim's token from other processes: root's files, the agent's credential, a 403 without it", () => {
    const modes = boot.container.exec(["stat", "-c", "%n %a %U", "/etc/rtmp-node", "/etc/rtmp-node/shim-token"]).out;
    expect(modes.trim().split("\n")).toEqual(["/etc/rtmp-node 700 root", "/etc/rtmp-node/shim-token 600 root"]);
    // The agent (its own dynamic user) reads its copy of the token from its credentials, and its
    // command line, which any process can read, names only that file.
    const token = boot.container.exec(["cat", "/etc/rtmp-node/shim-token"]).out.trim();
    const pid = boot.container.exec(["systemctl", "show", "rtmp-agent.service", "-p", "MainPID", "--value"]).out.trim();
    const argv = boot.container.exec(["cat", `/proc/${pid}/cmdline`]).out.split("\0");
    const file = argv[argv.indexOf("--shim-token-file") + 1] as string;
    expect(file).toBe("/run/credentials/rtmp-agent.service/shim-token");
    expect(argv.join(" ")).not.toContain(token);
    const mode = Number.parseInt(boot.container.exec(["stat", "-c", "%a", file]).out.trim(), 8);
    expect(mode & 0o007).toBe(0);
    expect(boot.container.exec(["cat", file]).out.trim()).toBe(token);
    const before = boot.api.calls.length;
    const forged = boot.container.exec([
      ...["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"],
      ...["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "content-type: application/json"],
      ...["--data", '{"ready":true,"streams":[{"name":"cam7","clientId":"1"}]}'],
      `http://127.0.0.1:${boot.shimPort}/nodes/heartbeat`,
    ]);
    expect(forged.out).toBe("403");
    expect(boot.api.calls.slice(before).filter((c) => c.body.includes("cam7"))).toEqual([]);
  });

  it("runs its units: the rtmp nginx, the shim, the agent; the user data finished", () => {
    const units = ["rtmp-nginx.service", "rtmp-shim.service", "rtmp-agent.service"];
    expect(
      boot.container
        .exec(["systemctl", "is-active", ...units])
        .out.trim()
        .split("\n"),
    ).toEqual(["active", "active", "active"]);
    const userData = boot.container.exec(["systemctl", "show", "user-data.service", "-p", "Result,ExecMainStatus"]);
    expect(userData.out).toContain("Result=success");
  });

  it("carries a camera: its on_publish reaches the API, and the next heartbeat lists it", async () => {
    const camera = new Camera(
      "cam1",
      `rtmp://127.0.0.1:${boot.rtmpPort}/live/cam1?key=boot-key`,
      encodeClip(path.join(site.workDir, "clip.flv")),
    );
    try {
      const publish = await waitFor("on_publish", async () => boot.api.callbacks("/hooks/publish")[0]);
      expect(Object.fromEntries(publish)).toMatchObject({ call: "publish", name: "cam1", key: "boot-key" });
      await waitFor("cam1 in a heartbeat", async () =>
        boot.api.heartbeats().some((h) => h.streams.some((s) => s.name === "cam1")),
      );
      expect(camera.running).toBe(true);
    } finally {
      await camera.stop();
    }
  });

  it("lets one address hold at most 128 connections to RTMP (its nftables rule)", async () => {
    const sockets: Socket[] = [];
    const outcomes = await Promise.all(
      Array.from(
        { length: 140 },
        () =>
          new Promise<"open" | "refused">((resolve) => {
            const socket = connect({ host: "127.0.0.1", port: boot.rtmpPort });
            sockets.push(socket);
            socket.once("connect", () => resolve("open"));
            socket.once("error", () => resolve("refused"));
          }),
      ),
    );
    for (const socket of sockets) socket.destroy();
    expect({
      open: outcomes.filter((o) => o === "open").length,
      refused: outcomes.filter((o) => o === "refused").length,
    }).toEqual({ open: 128, refused: 12 });
  });
});

describe("a node whose packages cannot be installed", () => {
  let boot: Boot;

  beforeAll(async () => {
    boot = await bootNode(site, "i-0b007fa11ed00002b", HEARTBEAT_SECONDS, {
      RTMP_NODE_EXTRA_PACKAGES: "rtmp-fleet-no-such-package",
    });
  });

  afterAll(async () => {
    await shutDown(boot);
  });

  it("reports each attempt as progress, then the failure with its reason, and its boot fails", async () => {
    const failure = await waitFor("a failure report", async () => bootReports(boot).find((r) => r.failed), 180_000);
    expect(failure).toEqual({
      stage: "packages",
      failed: expect.stringMatching(/^apt-get failed 3 times: E: Unable to locate package rtmp-fleet-no-such-package/),
    });
    expect(bootReports(boot)).toEqual([
      { stage: "secret" },
      { stage: "packages" },
      { stage: "packages" },
      { stage: "packages" },
      failure,
    ]);
    // The control plane's handler extended the launch at each report, then abandoned it and said why.
    expect(boot.control.launchActions).toEqual(["extend", "extend", "extend", "extend", "ABANDON"]);
    expect((await boot.control.registry.getNode(boot.instanceId))?.state).toBe("DEAD");
    expect(await boot.control.registry.recentEvents(5)).toContainEqual(
      expect.objectContaining({
        kind: "boot-failed",
        message: expect.stringContaining(`at packages: ${failure?.failed}`),
      }),
    );
    const userData = await waitFor("the user data to fail", async () => {
      const show = boot.container.exec(["systemctl", "show", "user-data.service", "-p", "Result,ExecMainStatus"]).out;
      return show.includes("Result=exit-code") && show;
    });
    expect(userData).toContain("ExecMainStatus=1");
    expect(boot.api.heartbeats()).toEqual([]);
    // Each attempt read the package lists again, and the reason is in the instance's log.
    const log = boot.container.exec(["journalctl", "-o", "cat", "-u", "user-data.service"]).out;
    expect(log.match(/^(Hit|Get):\d+ \S+ bookworm InRelease/gm)).toHaveLength(3);
    expect(log).toContain(`rtmp-node bootstrap: failed at packages: ${failure?.failed}`);
  });
});

describe("a node launched into the warm pool, then started into the group", () => {
  let boot: Boot;
  const dpkgStatus = (name: string) =>
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's field, verbatim
    boot.container.exec(["dpkg-query", "-W", "-f=${Status}", name]).out;

  beforeAll(async () => {
    boot = await bootNode(site, "i-0b007a4a00000003c", HEARTBEAT_SECONDS, {}, "Warmed:Stopped");
  });

  afterAll(async () => {
    await shutDown(boot);
  });

  it("in the pool: installs its packages, completes its own launch (signed), and joins nothing", async () => {
    const userData = ["systemctl", "show", "user-data.service", "-p", "Result,ExecMainExitTimestampMonotonic"];
    const finished = () => boot.container.exec(userData);
    await waitFor("the user data to finish", async () => /ExitTimestampMonotonic=[1-9]/.test(finished().out), 300_000);
    expect(finished().out).toContain("Result=success");
    const [completion] = boot.aws.seen.autoscaling;
    expect(Object.fromEntries(new URLSearchParams(completion?.body))).toEqual({
      Action: "CompleteLifecycleAction",
      Version: "2011-01-01",
      AutoScalingGroupName: GROUP_NAME,
      LifecycleHookName: LIFECYCLE.launchHook,
      InstanceId: boot.instanceId,
      LifecycleActionResult: "CONTINUE",
    });
    expect(boot.aws.seen.autoscalingProblems).toEqual([undefined]);
    expect(dpkgStatus("libnginx-mod-rtmp")).toBe("install ok installed");
    // No secret asked for, no report, no heartbeat, no unit of the node's: it is not a node yet.
    expect([boot.aws.seen.ssm, bootReports(boot), boot.api.heartbeats()]).toEqual([[], [], []]);
    expect(boot.container.exec(["test", "-e", "/etc/rtmp-node/rtmp.conf"]).code).toBe(1);
    expect(boot.container.exec(["systemctl", "is-enabled", "rtmp-node-boot.service"]).out.trim()).toBe("enabled");
  });

  it("drawn into the group: its boot unit starts it as a new node, without apt, to ACTIVE", async () => {
    boot.aws.setTargetLifecycleState("InService");
    // The next boot runs the boot unit; here it is started by hand (the container's changes do not
    // survive a reboot), with the test's endpoints that the user data had.
    const dropIn = "/etc/systemd/system/rtmp-node-boot.service.d";
    boot.container.exec(["mkdir", "-p", dropIn]);
    boot.container.exec([
      "sh",
      "-c",
      `printf '[Service]\\nEnvironmentFile=${USER_DATA_DIR}/env\\n' >${dropIn}/test.conf`,
    ]);
    boot.container.exec(["systemctl", "daemon-reload"]);
    boot.container.exec(["systemctl", "start", "--no-block", "rtmp-node-boot.service"]);
    await waitFor("a ready heartbeat", async () => boot.api.heartbeats().find((h) => h.ready), 120_000).catch(
      (error: Error) => {
        const log = boot.container.exec(["journalctl", "-o", "cat", "-u", "rtmp-node-boot.service"]).out;
        throw new Error(`${error.message}\n${log.slice(-4000)}`);
      },
    );
    expect(bootReports(boot)).toEqual([{ stage: "secret" }, { stage: "config" }, { stage: "started" }]);
    const log = boot.container.exec(["journalctl", "-o", "cat", "-u", "rtmp-node-boot.service"]).out;
    expect(log).toContain("the packages are installed already: no apt run");
    expect(log).not.toMatch(/^(Hit|Get):\d+ /m);
  });
});
