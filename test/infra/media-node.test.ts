/**
 * The media node's boot, checked with the real tools: shellcheck over the scripts, and `nginx -t`
 * (Debian's nginx with the real libnginx-mod-rtmp) over the node's two nginx configurations (rtmp and
 * shim) rendered by bootstrap.sh itself,
 * the way it renders it on a node. Each tool is also shown a broken input, so a pass means something.
 */
import { execFile, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Template } from "aws-cdk-lib/assertions";
import { NODE_SECRET_INSTANCE_TAG, NODE_SETTING_TAGS } from "../../lambdas/contract";
import type { FleetApp } from "../../lib/fleet-app";
import { MEDIA_NODE_SOURCE_DIR } from "../../lib/media-node-user-data";
import { renderLocalNode } from "../../local/nginx-fleet";
import {
  type ImdsAndSsm,
  instanceTagReads,
  type SeenRequest,
  sigV4Problem,
  startImdsAndSsm,
} from "../support/aws-stand-ins";
import {
  decide,
  FAKE_ACCOUNT,
  FAKE_REGION,
  grantedActions,
  type IamRequest,
  instanceArn,
  instanceRoleContext,
  TemplateResolver,
} from "../support/iam-simulation";
import { requireTool, tempDir, templateOf } from "./helpers";

const RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so";
const SAMPLE = {
  apiUrl: "https://abc123defg.execute-api.eu-west-1.amazonaws.com",
  nodeId: "i-0123456789abcdef0",
  secret: "Q2hhbmdlTWVQbGVhc2UxMj",
};

/** Renders the node's configuration with bootstrap.sh's --render-only mode into a fresh directory. */
function renderWithBootstrap(values = SAMPLE): {
  dir: string;
  conf: string;
  confs: string[];
  result: ReturnType<typeof spawnSync>;
} {
  const dir = tempDir("rtmp-node");
  const secretFile = path.join(dir, "node-secret");
  writeFileSync(secretFile, values.secret, { mode: 0o600 });
  const confs = ["rtmp.conf", "shim.conf"].map((name) => path.join(dir, name));
  const conf = confs[0] as string;
  const result = spawnSync(
    "bash",
    [
      path.join(MEDIA_NODE_SOURCE_DIR, "bootstrap.sh"),
      "--render-only",
      dir,
      "--api-url",
      values.apiUrl,
      "--node-id",
      values.nodeId,
      "--node-secret-file",
      secretFile,
    ],
    { encoding: "utf8", env: { ...process.env, RTMP_NODE_RUN_DIR: dir, RTMP_NODE_LOG_DIR: dir } },
  );
  return { dir, conf, confs, result };
}

/** `nginx -t` on a config, with every path in `dir` and no server started. */
function nginxTest(nginx: string, dir: string, conf: string) {
  return spawnSync(nginx, ["-t", "-p", dir, "-e", path.join(dir, "error.log"), "-c", conf], { encoding: "utf8" });
}

/** How `bootstrap.sh --render-only` ended, and the directory it rendered into. */
interface BootstrapRun {
  readonly code: number;
  readonly stderr: string;
  readonly dir: string;
}

/**
 * Runs `bootstrap.sh --render-only DIR` as on an instance: identity and settings from the stand-in
 * instance metadata, the secret from the stand-in SSM.
 */
function renderFromInstance(standIns: ImdsAndSsm): Promise<BootstrapRun> {
  const dir = tempDir("rtmp-node-boot");
  return new Promise((resolve) => {
    execFile(
      "bash",
      [path.join(MEDIA_NODE_SOURCE_DIR, "bootstrap.sh"), "--render-only", dir],
      {
        env: {
          ...process.env,
          RTMP_NODE_RUN_DIR: dir,
          RTMP_NODE_LOG_DIR: dir,
          RTMP_NODE_IMDS_URL: `${standIns.url}/latest`,
          RTMP_NODE_SSM_URL: `${standIns.url}/`,
          RTMP_NODE_RETRY_SECONDS: "0",
        },
        timeout: 60_000,
      },
      (error, _stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stderr, dir }),
    );
  });
}

/**
 * The tags the synthesized launch template gives each instance, by key; the API's endpoint (a
 * deploy-time value) stands as SAMPLE's URL.
 */
function instanceTagsOf(template: Template, fleetApp: FleetApp): Record<string, string> {
  const launchTemplate = fleetApp.stack.getLogicalId(fleetApp.stack.fleet.launchTemplate.node.defaultChild as never);
  const specifications: { ResourceType: string; Tags: { Key: string; Value: unknown }[] }[] =
    template.toJSON().Resources[launchTemplate].Properties.LaunchTemplateData.TagSpecifications;
  const instance = specifications.find((s) => s.ResourceType === "instance")?.Tags ?? [];
  return Object.fromEntries(
    instance.map(({ Key, Value }) => [Key, typeof Value === "string" ? Value : SAMPLE.apiUrl] as const),
  );
}

describe("media-node scripts", () => {
  const scripts = readdirSync(MEDIA_NODE_SOURCE_DIR).filter((name) => name.endsWith(".sh"));

  it("has scripts to check", () => {
    expect(scripts).toContain("bootstrap.sh");
  });

  it.each(scripts)("%s passes shellcheck", (script) => {
    const shellcheck = requireTool("shellcheck");
    const result = spawnSync(shellcheck, ["--severity=style", path.join(MEDIA_NODE_SOURCE_DIR, script)], {
      encoding: "utf8",
    });
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it("shellcheck does flag a bad script (the check can fail)", () => {
    const shellcheck = requireTool("shellcheck");
    const bad = path.join(tempDir("shellcheck"), "bad.sh");
    writeFileSync(bad, "#!/bin/bash\nrm -rf $1/*\n");
    const result = spawnSync(shellcheck, [bad], { encoding: "utf8" });
    expect(result.status).not.toBe(0);
    expect(result.stdout).toMatch(/SC2086/);
  });
});

describe("the nginx configurations rendered by bootstrap.sh", () => {
  let rendered: ReturnType<typeof renderWithBootstrap>;
  let text: string;

  beforeAll(() => {
    requireTool("python3");
    rendered = renderWithBootstrap();
    text = rendered.result.status === 0 ? rendered.confs.map((conf) => readFileSync(conf, "utf8")).join("\n") : "";
  });

  it.each(["rtmp.conf", "shim.conf", "shim-token"])("renders %s without error, to a root-only file", (name) => {
    expect(rendered.result.stderr).toBe("");
    expect(rendered.result.status).toBe(0);
    const conf = path.join(rendered.dir, name);
    expect(spawnSync("stat", ["-c", "%a", conf], { encoding: "utf8" }).stdout.trim()).toBe("600");
  });

  it.each(["rtmp.conf", "shim.conf"])("%s passes nginx -t with the real rtmp module", (name) => {
    const nginx = requireTool("nginx", ["/usr/sbin/nginx"]);
    requireTool("rtmp module", [RTMP_MODULE]);
    const result = nginxTest(nginx, rendered.dir, path.join(rendered.dir, name));
    expect(result.stderr).toMatch(/test is successful/);
    expect(result.status).toBe(0);
  });

  it("nginx -t does reject a broken copy (the check can fail)", () => {
    const nginx = requireTool("nginx", ["/usr/sbin/nginx"]);
    const broken = path.join(rendered.dir, "broken.conf");
    writeFileSync(broken, readFileSync(rendered.conf, "utf8").replace("live on;", "live on; not_a_directive;"));
    const result = nginxTest(nginx, rendered.dir, broken);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/unknown directive "not_a_directive"/);
  });

  it("wires RTMP, the callbacks and the loopback shim to the node's values", () => {
    const token = readFileSync(path.join(rendered.dir, "shim-token"), "utf8").trim();
    expect(text).toContain(`load_module ${RTMP_MODULE};`);
    expect(text).toMatch(/listen 1935;/);
    expect(text).toMatch(/application live \{/);
    expect(text).toContain(`on_publish http://127.0.0.1:8080/${token}/hooks/publish;`);
    expect(text).toContain(`on_publish_done http://127.0.0.1:8080/${token}/hooks/done;`);
    expect(text).toContain("listen 127.0.0.1:8080;");
    expect(text).toContain("resolver 169.254.169.253");
    expect(text).toContain(`set $api ${SAMPLE.apiUrl};`);
    expect(text).toContain(`proxy_set_header X-Node-Id ${SAMPLE.nodeId};`);
    expect(text).toContain(`proxy_set_header X-Node-Secret ${SAMPLE.secret};`);
    expect(text).not.toMatch(/\{\{[A-Z_]+\}\}/);
  });

  it("puts every loopback path behind a fresh shim token: each callback, every other location a 403", () => {
    const token = readFileSync(path.join(rendered.dir, "shim-token"), "utf8").trim();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Every callback URL nginx-rtmp calls (on_publish, on_publish_done, any on_* added later).
    const callbacks = [...text.matchAll(/^\s*(on_\w+) (\S+);/gm)].map(([, name, url]) => [name, url]);
    expect(callbacks.length).toBeGreaterThanOrEqual(2);
    for (const [name, url] of callbacks)
      expect([name, url]).toEqual([name, expect.stringMatching(`^http://127\\.0\\.0\\.1:8080/${token}/hooks/`)]);
    // Every location of both loopback servers starts with the token, but the catch-all, which refuses.
    const locations = [...text.matchAll(/^\s*location (.+) \{$/gm)].map(([, where]) => where as string);
    expect(locations.filter((where) => where !== "/" && !where.includes(`/${token}`))).toEqual([]);
    expect(text.match(/location \/ \{\s*return 403;\s*\}/g)).toHaveLength(2);
    // Each render draws its own.
    expect(readFileSync(path.join(renderWithBootstrap().dir, "shim-token"), "utf8").trim()).not.toBe(token);
  });

  it("renders the limit of RTMP connections per address as an nftables rule that nft accepts", () => {
    const rules = path.join(rendered.dir, "nftables.conf");
    const text = readFileSync(rules, "utf8");
    expect(text).toContain("tcp dport 1935 ct state new add @sources4 { ip saddr ct count over 128 }");
    const nft = requireTool("nft", ["/usr/sbin/nft"]);
    // -c: checked by the kernel's nftables, not applied.
    const check = spawnSync(nft, ["-c", "-f", rules], { encoding: "utf8" });
    expect(check.stderr).toBe("");
    expect(check.status).toBe(0);
    writeFileSync(`${rules}.broken`, text.replace("ct count over", "ct count beyond"));
    expect(spawnSync(nft, ["-c", "-f", `${rules}.broken`], { encoding: "utf8" }).status).not.toBe(0);
  });

  it("refuses a value that would break out of its directive", () => {
    const attempt = renderWithBootstrap({ ...SAMPLE, secret: "abc; include /etc/passwd" });
    expect(attempt.result.status).not.toBe(0);
    expect(attempt.result.stderr).toMatch(/NODE_SECRET must be non-empty, without spaces/);
  });

  it("takes the secret from standard input (never the command line), one value at most", () => {
    const script = path.join(MEDIA_NODE_SOURCE_DIR, "render_node.py");
    const outDir = tempDir("stdin");
    const out = path.join(outDir, "shim.conf");
    const values = [
      `RUN_DIR=${rendered.dir}`,
      `LOG_DIR=${rendered.dir}`,
      "RTMP_LISTEN=1935",
      "STAT_PORT=8081",
      "SHIM_PORT=8080",
      "RESOLVER=169.254.169.253",
      "API_CA_FILE=/etc/ssl/certs/ca-certificates.crt",
      `API_URL=${SAMPLE.apiUrl}`,
    ];
    const ok = spawnSync("python3", [script, outDir, ...values, `NODE_ID=${SAMPLE.nodeId}`, "NODE_SECRET=-"], {
      input: "from-stdin-123\n",
      encoding: "utf8",
    });
    expect(ok.stderr).toBe("");
    expect(readFileSync(out, "utf8")).toContain("proxy_set_header X-Node-Secret from-stdin-123;");
    const two = spawnSync("python3", [script, outDir, ...values, "NODE_ID=-", "NODE_SECRET=-"], {
      input: "x\n",
      encoding: "utf8",
    });
    expect(two.status).toBe(2);
    expect(two.stderr).toMatch(/only one value can come from standard input/);
    const given = spawnSync(
      "python3",
      [script, outDir, ...values, `NODE_ID=${SAMPLE.nodeId}`, "NODE_SECRET=-", "SHIM_TOKEN=chosen"],
      { input: "from-stdin-123\n", encoding: "utf8" },
    );
    expect(given.status).toBe(2);
    expect(given.stderr).toMatch(/SHIM_TOKEN is drawn by the renderer, never given/);
  });

  it("refuses an API URL with a path or trailing slash", () => {
    const attempt = renderWithBootstrap({ ...SAMPLE, apiUrl: `${SAMPLE.apiUrl}/` });
    expect(attempt.result.status).not.toBe(0);
    expect(attempt.result.stderr).toMatch(/--api-url must be the API's base URL/);
  });
});

describe("one render for AWS and local nodes", () => {
  /**
   * The directives that may differ between two nodes, and why: where the node listens (ports),
   * where it keeps its files (paths), and who it is (identity: node id, secret, the API it speaks
   * to and the resolver that finds it).
   */
  const MAY_DIFFER: Record<string, "port" | "path" | "identity"> = {
    listen: "port",
    on_publish: "port",
    on_publish_done: "port",
    on_play: "port",
    on_play_done: "port",
    pid: "path",
    error_log: "path",
    client_body_temp_path: "path",
    proxy_temp_path: "path",
    fastcgi_temp_path: "path",
    uwsgi_temp_path: "path",
    scgi_temp_path: "path",
    resolver: "identity",
    set: "identity",
    proxy_set_header: "identity",
    proxy_pass: "port",
    proxy_ssl_trusted_certificate: "path",
  };
  let aws: ReturnType<typeof renderWithBootstrap>;
  let localDir: string;

  beforeAll(() => {
    aws = renderWithBootstrap();
    localDir = tempDir("local-node");
    renderLocalNode(localDir, {
      rtmpPort: 41935,
      statPort: 48081,
      shimPort: 48080,
      apiUrl: "http://127.0.0.1:8787",
      nodeId: "local-1",
      secret: "bG9jYWwtc2VjcmV0LTEyMzQ1",
    });
  });

  it("renders the same nginx files, line for line, differing only in ports, paths and identity", () => {
    // Beside them an AWS node has its firewall rule (nftables.conf): local nodes listen on loopback.
    const files = ["rtmp.conf", "shim.conf"];
    expect(readdirSync(localDir).filter((name) => name.endsWith(".conf"))).toEqual(files);
    const differences: string[] = [];
    // Each render draws its own shim token: where it stands, both have theirs.
    const lines = (dir: string, file: string) => {
      const token = readFileSync(path.join(dir, "shim-token"), "utf8").trim();
      return readFileSync(path.join(dir, file), "utf8").replaceAll(token, "<token>").split("\n");
    };
    for (const file of files) {
      const awsLines = lines(aws.dir, file);
      const localLines = lines(localDir, file);
      expect(localLines).toHaveLength(awsLines.length);
      awsLines.forEach((line, i) => {
        if (line === localLines[i]) return;
        const [directive = "", name = ""] = line.trim().split(/\s+/);
        // proxy_set_header differs only for the node's identity headers.
        const key = directive === "proxy_set_header" && !/^X-Node-(Id|Secret)$/.test(name) ? "?" : directive;
        differences.push(`${file}: ${directive} (${MAY_DIFFER[key] ?? "NOT ALLOWED"})`);
      });
    }
    expect(differences.filter((d) => d.includes("NOT ALLOWED"))).toEqual([]);
    // And they do differ where they should: the check compares something.
    expect(differences.length).toBeGreaterThan(5);
  });

  it("differ in nothing else: the same worker count and limits on both", () => {
    const settings = (dir: string) =>
      ["rtmp.conf", "shim.conf"]
        .flatMap((name) => readFileSync(path.join(dir, name), "utf8").split("\n"))
        .filter((line) => /^\s*(worker_\w+|max_connections|timeout|limit_conn)\b/.test(line));
    expect(settings(localDir)).toEqual(settings(aws.dir));
    expect(settings(aws.dir)).toContain("worker_processes 1;");
  });
});

describe("bootstrap.sh against a fake metadata service and SSM", () => {
  const credentials = {
    accessKeyId: "ASIAEXAMPLEKEY123456",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    token: "IQoJb3JpZ2luX2VjEXAMPLE/TOKEN+abc==",
  };
  const node = { instanceId: "i-0abc1234def567890", region: "eu-west-1", publicIp: "203.0.113.7" };
  // The node as deployed: the synthesized stack's node role, and the tags its launch template
  // gives each instance (the API's endpoint, a deploy-time value, as SAMPLE's URL).
  const { fleetApp, template } = templateOf();
  const tags = instanceTagsOf(template, fleetApp);
  const prefix = tags[NODE_SETTING_TAGS.secretParameterPrefix] as string;
  const nodeSecret = "bm9kZS1zZWNyZXQtZm9yLXQ";
  let standIns: ImdsAndSsm;
  let result: BootstrapRun;

  beforeAll(async () => {
    requireTool("curl");
    // The first call finds no parameter yet (the lifecycle Lambda has not written it): bootstrap retries.
    standIns = await startImdsAndSsm({ ...node, credentials, nodeSecret, notFoundFirst: 1, tags });
    result = await renderFromInstance(standIns);
  });

  afterAll(async () => {
    await standIns?.close();
  });

  it("renders the node's config with its id, the API's URL from its tag and the secret fetched from SSM", () => {
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(result.stderr).toMatch(/ParameterNotFound[\s\S]*retrying/);
    const text = readFileSync(path.join(result.dir, "shim.conf"), "utf8");
    expect(text).toContain(`set $api ${SAMPLE.apiUrl};`);
    expect(text).toContain(`proxy_set_header X-Node-Id ${node.instanceId};`);
    expect(text).toContain(`proxy_set_header X-Node-Secret ${nodeSecret};`);
    const nginx = requireTool("nginx", ["/usr/sbin/nginx"]);
    for (const name of ["rtmp.conf", "shim.conf"]) {
      expect(nginxTest(nginx, result.dir, path.join(result.dir, name)).status).toBe(0);
    }
  });

  it("reads each of the fleet's settings from its instance tag, once", () => {
    expect(instanceTagReads(standIns)).toEqual(Object.values(NODE_SETTING_TAGS));
  });

  it("asks SSM for its own parameter, decrypted, retrying until the lifecycle Lambda has written it", () => {
    expect(standIns.seen.ssm).toHaveLength(2);
    for (const request of standIns.seen.ssm) {
      expect(request.method).toBe("POST");
      expect(request.headers["x-amz-target"]).toBe("AmazonSSM.GetParameter");
      expect(JSON.parse(request.body)).toEqual({ Name: `${prefix}/${node.instanceId}`, WithDecryption: true });
    }
  });

  it("signs with SigV4 for ssm in the node's region, with the role's session token", () => {
    expect(standIns.seen.ssmProblems).toEqual([undefined, undefined]);
    expect(standIns.seen.ssm.map((r) => r.headers["x-amz-security-token"])).toEqual([
      credentials.token,
      credentials.token,
    ]);
  });

  it("the signature check does reject a wrong key (the check can fail)", () => {
    const [request] = standIns.seen.ssm;
    if (!request) throw new Error("no SSM request was seen");
    const wrong = { ...credentials, secretAccessKey: `${credentials.secretAccessKey}x` };
    expect(sigV4Problem(request, wrong, { region: node.region, service: "ssm" })).toBe("signature does not match");
    expect(sigV4Problem(request, credentials, { region: "us-east-1", service: "ssm" })).toMatch(/scope/);
  });

  it("uses IMDSv2 only: every metadata read carries the session token", () => {
    const reads = standIns.seen.imds.filter((r) => r.method === "GET");
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((r) => r.headers["x-aws-ec2-metadata-token"] === standIns.imdsToken)).toBe(true);
  });

  describe("with a setting missing or wrong in the instance's tags", () => {
    const withTag = (key: string, value: string) => ({ ...tags, [key]: value });
    const { [NODE_SETTING_TAGS.heartbeatSeconds]: _heartbeat, ...withoutHeartbeat } = tags;

    it.each<[string, Record<string, string> | undefined, RegExp]>([
      [
        "no tag in instance metadata (InstanceMetadataTags not enabled)",
        undefined,
        /failed at settings: instance tag rtmp-fleet:api-url is not in the instance metadata: the launch template sets it and allows tags there \(InstanceMetadataTags\)/,
      ],
      [
        "no heartbeat tag",
        withoutHeartbeat,
        /failed at settings: instance tag rtmp-fleet:heartbeat-seconds is not in the instance metadata/,
      ],
      [
        "an API URL with a path",
        withTag(NODE_SETTING_TAGS.apiUrl, `${SAMPLE.apiUrl}/prod`),
        /failed at settings: tag rtmp-fleet:api-url must be the API's base URL without a path or trailing slash: 'https:\/\/\S+\/prod'/,
      ],
      [
        "a secret path that is not an SSM path",
        withTag(NODE_SETTING_TAGS.secretParameterPrefix, "node-secrets"),
        /failed at settings: tag rtmp-fleet:node-secret-prefix must be an SSM path such as \/rtmp-fleet\/x\/node-secrets: 'node-secrets'/,
      ],
      [
        "a heartbeat period that is not whole seconds",
        withTag(NODE_SETTING_TAGS.heartbeatSeconds, "15s"),
        /failed at settings: tag rtmp-fleet:heartbeat-seconds must be a whole number of seconds: '15s'/,
      ],
    ])("%s: stops with a clear error, asks SSM nothing and renders nothing", async (_case, instanceTags, error) => {
      const instance = await startImdsAndSsm({ ...node, credentials, nodeSecret, tags: instanceTags });
      try {
        const run = await renderFromInstance(instance);
        expect(run.stderr).toMatch(error);
        expect(run.code).toBe(1);
        expect(instance.seen.ssm).toEqual([]);
        expect(readdirSync(run.dir)).toEqual([]);
      } finally {
        await instance.close();
      }
    });
  });

  describe("against the node role, call by call", () => {
    const resolver = new TemplateResolver(template.toJSON() as { Resources: Record<string, object> }, "RtmpFleet");
    const roleId = fleetApp.stack.getLogicalId(fleetApp.stack.fleet.nodeRole.node.defaultChild as never);
    const policies = resolver.rolePolicies(roleId);
    const principal = (instanceId: string) =>
      `arn:aws:sts::${FAKE_ACCOUNT}:assumed-role/${resolver.name(roleId)}/${instanceId}`;
    const parameter = (name: string) => `arn:aws:ssm:${FAKE_REGION}:${FAKE_ACCOUNT}:parameter${name}`;
    /** The node's calls that its own code does not make: the SSM Agent's, for Session Manager. */
    const SSM_AGENT_CALLS = new Set([
      "ssm:UpdateInstanceInformation",
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
    ]);

    /** A signed request bootstrap.sh sent, as IAM authorizes it: service from the SigV4 scope, action from the target. */
    function iamRequestOf(request: SeenRequest, instanceId: string): IamRequest {
      const service = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\//.exec(String(request.headers.authorization))?.[1];
      const operation = String(request.headers["x-amz-target"] ?? "").split(".")[1];
      if (service !== "ssm" || !operation) {
        throw new Error(`map ${service}:${operation} to its resource here to check it: ${request.url}`);
      }
      const { Name } = JSON.parse(request.body);
      // Each parameter under the prefix was issued for the node its name ends with.
      return {
        action: `ssm:${operation}`,
        resource: parameter(Name),
        context: instanceRoleContext(instanceId),
        resourceTags: { [NODE_SECRET_INSTANCE_TAG]: instanceArn(String(Name).split("/").at(-1) ?? "") },
      };
    }

    it("allows every call bootstrap.sh makes, and grants nothing else but the SSM Agent's Session Manager calls", async () => {
      const requests = standIns.seen.ssm.map((r) => iamRequestOf(r, node.instanceId));
      expect(requests.length).toBeGreaterThan(0);
      for (const request of requests) {
        const decision = await decide(principal(node.instanceId), policies, request);
        expect([request.action, request.resource, decision.result]).toEqual([
          request.action,
          request.resource,
          "Allowed",
        ]);
      }
      const used = new Set(requests.map((r) => r.action));
      expect([...grantedActions(policies)].filter((a) => !used.has(a) && !SSM_AGENT_CALLS.has(a))).toEqual([]);
    });

    const OTHER = "i-0fff0000aaaa11112";
    /** A parameter's tags as the control plane writes them when it issues a secret for `instanceId`. */
    const issuedFor = (instanceId: string) => ({ [NODE_SECRET_INSTANCE_TAG]: instanceArn(instanceId) });

    it.each([
      ["its own secret", "ssm:GetParameter", `${prefix}/${node.instanceId}`, issuedFor(node.instanceId), "Allowed"],
      ["another node's secret", "ssm:GetParameter", `${prefix}/${OTHER}`, issuedFor(OTHER), "ImplicitlyDenied"],
      [
        "an untagged parameter under the prefix",
        "ssm:GetParameter",
        `${prefix}/${node.instanceId}`,
        {},
        "ImplicitlyDenied",
      ],
      ["every node's secrets at once", "ssm:GetParametersByPath", prefix, {}, "ImplicitlyDenied"],
      [
        "another node's secret by GetParameters",
        "ssm:GetParameters",
        `${prefix}/${OTHER}`,
        issuedFor(OTHER),
        "ImplicitlyDenied",
      ],
      [
        "a parameter tagged for it elsewhere",
        "ssm:GetParameter",
        "/some/other/parameter",
        issuedFor(node.instanceId),
        "ImplicitlyDenied",
      ],
    ])("node A asking for %s: %s on %s, tagged %j, is %s", async (_what, action, name, resourceTags, expected) => {
      const request = {
        action,
        resource: parameter(name),
        context: instanceRoleContext(node.instanceId),
        resourceTags,
      };
      expect((await decide(principal(node.instanceId), policies, request)).result).toBe(expected);
    });
  });
});
