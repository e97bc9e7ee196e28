/**
 * The evidence that a silent node's machine is gone, from outside the node: EC2's status and
 * CloudWatch's NetworkIn against moto, and local mode's process and bytes received against real
 * processes.
 */
import { spawn } from "node:child_process";
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { EC2Client, RunInstancesCommand, StopInstancesCommand } from "@aws-sdk/client-ec2";
import { AwsMachineEvidence } from "../../lambdas/adapters/aws-machine-evidence";
import { bytesRead, LocalMachineEvidence } from "../../local/machine-evidence";
import { useMoto } from "../support/moto";

useMoto();

describe("AwsMachineEvidence (EC2 and CloudWatch in moto)", () => {
  const ec2 = new EC2Client({});
  const cloudwatch = new CloudWatchClient({});
  const evidence = new AwsMachineEvidence(ec2, cloudwatch);

  async function instance(): Promise<string> {
    const out = await ec2.send(new RunInstancesCommand({ ImageId: "ami-12c6146b", MinCount: 1, MaxCount: 1 }));
    return out.Instances?.[0]?.InstanceId as string;
  }

  /** NetworkIn of the instance, one datapoint a minute, for the minutes starting at `from`. */
  async function networkIn(instanceId: string, from: number, bytesPerMinute: readonly number[]): Promise<void> {
    await cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: "AWS/EC2",
        MetricData: bytesPerMinute.map((bytes, minute) => ({
          MetricName: "NetworkIn",
          Dimensions: [{ Name: "InstanceId", Value: instanceId }],
          Timestamp: new Date(from + minute * 60_000),
          Value: bytes,
          Unit: "Bytes",
        })),
      }),
    );
  }

  const now = Math.floor(Date.now() / 60_000) * 60_000;
  const silentSince = now - 4 * 60_000;

  it("says nothing of a running instance that still receives a camera's stream", async () => {
    const id = await instance();
    await networkIn(id, silentSince, [9_000_000, 9_100_000, 8_900_000]);
    expect(await evidence.gone([{ nodeId: id, silentSince }], now)).toEqual(new Map());
  });

  it("says the machine is gone when EC2 says the instance is stopped", async () => {
    const id = await instance();
    await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    const signs = await evidence.gone([{ nodeId: id, silentSince }], now);
    expect(signs.get(id)).toMatchObject({ kind: "machine", reason: expect.stringMatching(/stopp/) });
  });

  it("says the traffic is gone when NetworkIn counts next to nothing over the silent minutes", async () => {
    const id = await instance();
    await networkIn(id, silentSince, [3000, 1200, 800]);
    const signs = await evidence.gone([{ nodeId: id, silentSince }], now);
    expect(signs.get(id)).toMatchObject({ kind: "traffic", reason: expect.stringContaining("5000 bytes") });
  });

  it("does not judge on fewer than 2 silent minutes of data (CloudWatch publishes late)", async () => {
    const id = await instance();
    await networkIn(id, silentSince, [0]);
    expect((await evidence.gone([{ nodeId: id, silentSince }], now)).has(id)).toBe(false);
  });

  it("says the machine is gone when EC2 no longer knows the instance", async () => {
    const signs = await evidence.gone([{ nodeId: "i-0123456789abcdef0", silentSince }], now);
    expect(signs.get("i-0123456789abcdef0")).toMatchObject({ kind: "machine" });
  });
});

describe("LocalMachineEvidence (real processes)", () => {
  /** A process that reads what it is sent: a stand-in for nginx receiving a camera. */
  function reader() {
    const child = spawn("cat", [], { stdio: ["pipe", "ignore", "ignore"] });
    return child;
  }

  it("counts the bytes a process reads", async () => {
    const child = reader();
    try {
      const before = bytesRead(child.pid as number) as number;
      child.stdin.write(Buffer.alloc(64 * 1024));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((bytesRead(child.pid as number) as number) - before).toBeGreaterThanOrEqual(64 * 1024);
    } finally {
      child.kill();
    }
  });

  it("tells a silent node whose nginx receives apart from one whose nginx receives nothing or is gone", async () => {
    const receiving = reader();
    const idle = reader();
    const gone = reader();
    let clock = 1_000_000;
    const evidence = new LocalMachineEvidence(
      () => [
        { instanceId: "receiving", nginxPid: receiving.pid },
        { instanceId: "idle", nginxPid: idle.pid },
        { instanceId: "gone", nginxPid: gone.pid },
      ],
      () => clock,
    );
    try {
      evidence.sample();
      const silentSince = clock;
      clock += 10_000;
      receiving.stdin.write(Buffer.alloc(200 * 1024));
      gone.kill("SIGKILL");
      await new Promise((resolve) => setTimeout(resolve, 300));
      const signs = await evidence.gone(
        ["receiving", "idle", "gone"].map((nodeId) => ({ nodeId, silentSince })),
        clock,
      );
      expect(signs.has("receiving")).toBe(false);
      expect(signs.get("idle")).toMatchObject({ kind: "traffic" });
      expect(signs.get("gone")).toMatchObject({ kind: "machine", reason: "its nginx is not running" });
    } finally {
      for (const child of [receiving, idle, gone]) child.kill("SIGKILL");
    }
  });
});
