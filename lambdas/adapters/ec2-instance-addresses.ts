/** Where cameras reach an EC2 instance: its public IPv4 address, as EC2 reports it. */
import { DescribeInstancesCommand, type EC2Client } from "@aws-sdk/client-ec2";
import { RTMP_APP, RTMP_PORT } from "../contract";
import type { InstanceAddresses } from "../core/ports";

/** An `InstanceAddresses` over EC2's DescribeInstances. */
export class Ec2InstanceAddresses implements InstanceAddresses {
  constructor(private readonly ec2: EC2Client) {}

  async rtmpBaseUrl(instanceId: string): Promise<string | undefined> {
    const out = await this.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const ip = out.Reservations?.[0]?.Instances?.[0]?.PublicIpAddress;
    return ip ? `rtmp://${ip}:${RTMP_PORT}/${RTMP_APP}` : undefined;
  }
}
