/**
 * Stand-ins for what a media node's bootstrap asks of AWS, on 127.0.0.1: the instance metadata
 * service (IMDSv2 only, as on the nodes, with the instance's tags when they are allowed there and
 * its target lifecycle state when it is in a group), SSM's GetParameter and Auto Scaling's
 * CompleteLifecycleAction (under `/autoscaling/`), which check each request's SigV4 signature against
 * the instance role's credentials as AWS does.
 */
import { createHash, createHmac } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/** A request as the stand-ins saw it. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** The instance role's temporary credentials. */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly token: string;
}

const sha256 = (data: string) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();

/**
 * Checks a request's AWS Signature Version 4 (the header form) against the credentials, as AWS
 * does: rebuilds the canonical request from what was received and recomputes the signature.
 * @returns undefined when it is valid, else what is wrong
 */
export function sigV4Problem(
  request: SeenRequest,
  credentials: { accessKeyId: string; secretAccessKey: string },
  expected: { region: string; service: string },
): string | undefined {
  const auth = String(request.headers.authorization ?? "");
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!match) return `no SigV4 Authorization header: ${auth}`;
  const [, keyId, date, region, service, signedHeaders = "", signature] = match;
  if (keyId !== credentials.accessKeyId) return `signed with key ${keyId}`;
  if (region !== expected.region || service !== expected.service) return `scope ${region}/${service}`;
  const amzDate = String(request.headers["x-amz-date"] ?? "");
  if (!amzDate.startsWith(date ?? "-")) return `x-amz-date ${amzDate} outside the scope's date ${date}`;
  const names = signedHeaders.split(";");
  for (const required of ["host", "x-amz-date"]) if (!names.includes(required)) return `${required} is not signed`;
  const url = new URL(request.url, "http://placeholder");
  const query = [...url.searchParams]
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .sort()
    .join("&");
  const headers = names
    .map(
      (name) =>
        `${name}:${String(request.headers[name] ?? "")
          .trim()
          .replace(/\s+/g, " ")}\n`,
    )
    .join("");
  const canonical = [request.method, url.pathname, query, headers, signedHeaders, sha256(request.body)].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
  let key: Buffer = hmac(`AWS4${credentials.secretAccessKey}`, date ?? "");
  for (const part of [region ?? "", service ?? "", "aws4_request"]) key = hmac(key, part);
  const expectedSignature = hmac(key, toSign).toString("hex");
  return expectedSignature === signature ? undefined : "signature does not match";
}

/** The instance the stand-ins describe, and the secret SSM holds for it. */
export interface StandInInstance {
  readonly instanceId: string;
  readonly region: string;
  readonly publicIp: string;
  readonly credentials: Credentials;
  /** The node's secret, at any parameter name. */
  readonly nodeSecret: string;
  /** How many GetParameter calls find no parameter first (the lifecycle Lambda has not written it yet). */
  readonly notFoundFirst?: number;
  /**
   * The instance's tags, served under `meta-data/tags/instance/` as when the launch template
   * allows tags in instance metadata; without them that category answers 404, as on EC2 then.
   */
  readonly tags?: Readonly<Record<string, string>>;
  /** `autoscaling/target-lifecycle-state` (e.g. `Warmed:Stopped`); without it, 404 as outside a group. */
  readonly targetLifecycleState?: string;
}

/** Running stand-ins: IMDS at `${url}/latest`, SSM at `${url}/`, Auto Scaling at `${url}/autoscaling/`. */
export interface ImdsAndSsm {
  readonly url: string;
  readonly seen: {
    imds: SeenRequest[];
    ssm: SeenRequest[];
    ssmProblems: (string | undefined)[];
    autoscaling: SeenRequest[];
    autoscalingProblems: (string | undefined)[];
  };
  /** Moves the instance, as Auto Scaling does when it takes it out of the warm pool into the group. */
  setTargetLifecycleState(state: string): void;
  /** The IMDSv2 session token the stand-in hands out. */
  readonly imdsToken: string;
  close(): Promise<void>;
}

/** Starts the IMDS and SSM stand-ins for one instance on 127.0.0.1 (a free port). */
export async function startImdsAndSsm(instance: StandInInstance): Promise<ImdsAndSsm> {
  const { credentials } = instance;
  const imdsToken = "imds-session-token";
  const seen: ImdsAndSsm["seen"] = { imds: [], ssm: [], ssmProblems: [], autoscaling: [], autoscalingProblems: [] };
  const metadata: Record<string, string> = {
    "meta-data/instance-id": instance.instanceId,
    "meta-data/placement/region": instance.region,
    "meta-data/services/domain": "amazonaws.com",
    "meta-data/public-ipv4": instance.publicIp,
    "meta-data/iam/security-credentials/": "node-role",
    "meta-data/iam/security-credentials/node-role": JSON.stringify({
      Code: "Success",
      AccessKeyId: credentials.accessKeyId,
      SecretAccessKey: credentials.secretAccessKey,
      Token: credentials.token,
    }),
  };
  const targetState = "meta-data/autoscaling/target-lifecycle-state";
  if (instance.targetLifecycleState) metadata[targetState] = instance.targetLifecycleState;
  if (instance.tags) {
    metadata["meta-data/tags/instance"] = Object.keys(instance.tags).join("\n");
    for (const [key, value] of Object.entries(instance.tags)) metadata[`meta-data/tags/instance/${key}`] = value;
  }
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on("end", () => {
      const request = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
      if (request.url.startsWith("/latest/")) {
        seen.imds.push(request);
        const key = request.url.slice("/latest/".length);
        if (key === "api/token" && request.method === "PUT") return void res.end(imdsToken);
        // IMDSv2 only: a request without the session token is refused, as on the nodes.
        if (req.headers["x-aws-ec2-metadata-token"] !== imdsToken) return void res.writeHead(401).end();
        const value = metadata[key];
        return void (value === undefined ? res.writeHead(404).end() : res.end(value));
      }
      if (request.url.startsWith("/autoscaling/")) {
        seen.autoscaling.push(request);
        const problem = sigV4Problem(request, credentials, { region: instance.region, service: "autoscaling" });
        seen.autoscalingProblems.push(problem);
        return void res.writeHead(problem ? 403 : 200).end("<CompleteLifecycleActionResponse/>");
      }
      seen.ssm.push(request);
      const problem = sigV4Problem(request, credentials, { region: instance.region, service: "ssm" });
      seen.ssmProblems.push(problem);
      res.setHeader("content-type", "application/x-amz-json-1.1");
      if (problem || req.headers["x-amz-security-token"] !== credentials.token) {
        return void res.writeHead(403).end(JSON.stringify({ __type: "AccessDeniedException", message: problem }));
      }
      if (seen.ssm.length <= (instance.notFoundFirst ?? 0)) {
        return void res.writeHead(400).end(JSON.stringify({ __type: "ParameterNotFound" }));
      }
      const name = JSON.parse(body).Name;
      res.end(
        JSON.stringify({ Parameter: { Name: name, Type: "SecureString", Value: instance.nodeSecret, Version: 1 } }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    imdsToken,
    setTargetLifecycleState: (state) => {
      metadata[targetState] = state;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The instance tags the instance's code read from the stand-in metadata, by key, in order. */
export function instanceTagReads(standIns: ImdsAndSsm): string[] {
  const prefix = "/latest/meta-data/tags/instance/";
  return standIns.seen.imds.filter((r) => r.url.startsWith(prefix)).map((r) => r.url.slice(prefix.length));
}
