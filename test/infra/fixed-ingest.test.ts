/**
 * The fixed ingest address (lib/fixed-ingest.ts; docs/ARCHITECTURE.md, D18): off by default; on, an
 * internet-facing Network Load Balancer on 1935 (and 443 with a certificate) before one target
 * group that keeps established connections of a deregistered node, and IAM that lets only the
 * Lambdas that move the target do so, in that target group only.
 */
import { Match, type Template } from "aws-cdk-lib/assertions";
import { ENV } from "../../lambdas/contract";
import type { FleetApp } from "../../lib/fleet-app";
import { cfnLintErrors, nagFindings, templateOf, writeTemplate } from "./helpers";

const CERTIFICATE_ARN = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9";

let plain: { fleetApp: FleetApp; template: Template };
let rtmps: { fleetApp: FleetApp; template: Template };

beforeAll(() => {
  plain = templateOf({ stackName: "FixedIngestFleet", fixedIngest: "true" });
  rtmps = templateOf({
    stackName: "RtmpsFleet",
    fixedIngest: "true",
    ingestCertificateArn: CERTIFICATE_ARN,
    ingestDomainName: "ingest.example.com",
  });
});

const idOf = (fleetApp: FleetApp, construct: { node: { defaultChild?: unknown } }) =>
  fleetApp.stack.getLogicalId(construct.node.defaultChild as never);

describe("the default fleet", () => {
  it("has no load balancer: cameras resolve first, and nothing is billed for an address", () => {
    const { template } = templateOf();
    template.resourceCountIs("AWS::ElasticLoadBalancingV2::LoadBalancer", 0);
    template.resourceCountIs("AWS::ElasticLoadBalancingV2::TargetGroup", 0);
  });
});

describe("fixedIngest on", () => {
  it("puts an internet-facing network load balancer, across zones, before the nodes", () => {
    plain.template.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", {
      Type: "network",
      Scheme: "internet-facing",
      LoadBalancerAttributes: Match.arrayWith([{ Key: "load_balancing.cross_zone.enabled", Value: "true" }]),
    });
  });

  it("listens on RTMP 1935 only (no TLS listener without a certificate)", () => {
    const listeners = Object.values(plain.template.findResources("AWS::ElasticLoadBalancingV2::Listener"));
    expect(listeners.map((l) => [l.Properties.Port, l.Properties.Protocol])).toEqual([[1935, "TCP"]]);
  });

  it("has one instance target group on 1935: TCP health check on 1935, connection termination off", () => {
    plain.template.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
      Port: 1935,
      Protocol: "TCP",
      TargetType: "instance",
      HealthCheckProtocol: "TCP",
      HealthCheckPort: "1935",
      HealthCheckIntervalSeconds: 10,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
      TargetGroupAttributes: Match.arrayWith([
        { Key: "deregistration_delay.timeout_seconds", Value: "30" },
        { Key: "deregistration_delay.connection_termination.enabled", Value: "false" },
      ]),
    });
    // The control plane registers its one target: the stack registers none.
    const group = Object.values(plain.template.findResources("AWS::ElasticLoadBalancingV2::TargetGroup"))[0];
    expect(group?.Properties.Targets).toBeUndefined();
  });

  it("lets the load balancer reach the nodes on 1935, and cameras reach the load balancer on 1935", () => {
    const { fleetApp, template } = plain;
    const nodes = idOf(fleetApp, fleetApp.stack.fleet.securityGroup);
    const ingress = template.findResources("AWS::EC2::SecurityGroupIngress", {
      Properties: { GroupId: { "Fn::GetAtt": [nodes, "GroupId"] }, FromPort: 1935, ToPort: 1935 },
    });
    expect(Object.keys(ingress)).toHaveLength(1);
    template.hasResourceProperties("AWS::EC2::SecurityGroup", {
      GroupDescription: Match.stringLikeRegexp("fixed ingest"),
      SecurityGroupIngress: [Match.objectLike({ CidrIp: "0.0.0.0/0", FromPort: 1935, ToPort: 1935 })],
    });
  });

  it("lets only publish, done and the scaler move the target, in this target group only", () => {
    const { fleetApp, template } = plain;
    const { functions, fixedIngest } = fleetApp.stack.fleet;
    if (!fixedIngest) throw new Error("fixedIngest true builds the fixed ingest");
    const groupRef = { Ref: idOf(fleetApp, fixedIngest.targetGroup) };
    const movers = Object.entries(template.findResources("AWS::IAM::Policy"))
      .filter(([, policy]) =>
        JSON.stringify(policy.Properties.PolicyDocument).includes("elasticloadbalancing:RegisterTargets"),
      )
      .map(([, policy]) => {
        const statement = policy.Properties.PolicyDocument.Statement.find((s: { Action: unknown }) =>
          JSON.stringify(s.Action).includes("RegisterTargets"),
        );
        return [policy.Properties.Roles[0].Ref, statement.Resource];
      });
    const roles = [functions.publish, functions.done, functions.scaler].map((f) => idOf(fleetApp, f.role));
    expect(movers.sort()).toEqual(roles.map((role) => [role, groupRef]).sort());
    const told = Object.entries(template.findResources("AWS::Lambda::Function"))
      .filter(([, fn]) => ENV.ingestTargetGroup in (fn.Properties.Environment?.Variables ?? {}))
      .map(([id]) => id);
    expect(told.sort()).toEqual(
      [functions.publish, functions.done, functions.scaler].map((f) => idOf(fleetApp, f.function)).sort(),
    );
  });

  it("outputs the address cameras are given", () => {
    const outputs = plain.template.toJSON().Outputs;
    expect(JSON.stringify(outputs.IngestUrl.Value)).toMatch(/rtmp:\/\/.*DNSName.*:1935\/live/);
    expect(outputs.IngestRtmpsUrl).toBeUndefined();
    expect(rtmps.template.toJSON().Outputs.IngestRtmpsUrl.Value).toBe("rtmps://ingest.example.com:443/live");
  });

  it("tells /resolve the address, without RTMPS", () => {
    const { fleetApp, template } = plain;
    const resolve = template.toJSON().Resources[idOf(fleetApp, fleetApp.stack.fleet.functions.resolve.function)];
    expect(resolve.Properties.Environment.Variables).toMatchObject({
      [ENV.ingestHost]: { "Fn::GetAtt": [expect.any(String), "DNSName"] },
      [ENV.ingestTls]: "false",
    });
  });
});

describe("fixedIngest on with a certificate (RTMPS)", () => {
  it("adds a TLS listener on 443 with the certificate, to the same target group", () => {
    const listeners = Object.values(rtmps.template.findResources("AWS::ElasticLoadBalancingV2::Listener"));
    expect(listeners.map((l) => [l.Properties.Port, l.Properties.Protocol]).sort()).toEqual([
      [1935, "TCP"],
      [443, "TLS"],
    ]);
    const tls = listeners.find((l) => l.Properties.Protocol === "TLS");
    expect(tls?.Properties.Certificates).toEqual([{ CertificateArn: CERTIFICATE_ARN }]);
    const targets = listeners.map((l) => JSON.stringify(l.Properties.DefaultActions));
    expect(new Set(targets).size).toBe(1);
    rtmps.template.hasResourceProperties("AWS::EC2::SecurityGroup", {
      GroupDescription: Match.stringLikeRegexp("RTMPS 443"),
      SecurityGroupIngress: Match.arrayWith([Match.objectLike({ FromPort: 443, ToPort: 443 })]),
    });
  });

  it("tells /resolve to answer rtmps:// URLs on the certificate's name", () => {
    const { fleetApp, template } = rtmps;
    const resolve = template.toJSON().Resources[idOf(fleetApp, fleetApp.stack.fleet.functions.resolve.function)];
    expect(resolve.Properties.Environment.Variables).toMatchObject({
      [ENV.ingestTls]: "true",
      [ENV.ingestHost]: "ingest.example.com",
    });
  });
});

describe("both fixed-ingest variants", () => {
  it("leave no cdk-nag finding unacknowledged", () => {
    expect(nagFindings(plain.fleetApp.stack)).toEqual([]);
    expect(nagFindings(rtmps.fleetApp.stack)).toEqual([]);
  });

  it("pass cfn-lint without errors", () => {
    const files = [writeTemplate(plain.fleetApp.stack, "fixed-ingest"), writeTemplate(rtmps.fleetApp.stack, "rtmps")];
    expect(cfnLintErrors(files)).toEqual([]);
  });
});
