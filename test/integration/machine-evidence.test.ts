/**
 * The evidence that a silent node's machine is gone, from outside the node: EC2's status and
 * CloudWatch's NetworkIn against moto. Local mode's, read from real nginx-rtmp nodes, is in
 * test/node/local-machine-evidence.test.ts.
 */
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { EC2Client, RunInstancesCommand, StopInstancesCommand } from "@aws-sdk/client-ec2";
import { AwsMachineEvidence } from "../../lambdas/adapters/aws-machine-evidence";
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
