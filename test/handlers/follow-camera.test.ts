/**
 * One camera followed through the logs by its correlation id: the real resolve, publish and done
 * handlers over the memory registry, the callbacks built as nginx-rtmp builds them (the publish
 * URL's query arguments appended to the form body), every log line captured and parsed.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import { cameraKey } from "../../lambdas/core/credentials";
import { createDoneHandler, createPublishHandler } from "../../lambdas/handlers/hooks";
import { createResolveHandler } from "../../lambdas/handlers/resolve";
import { CONTEXT, callbackBody, httpEvent, makeDeps, makeNode, nodeHeaders, SECRETS } from "../support/builders";
import { captureLogs } from "../support/log-capture";

async function fleet() {
  const registry = new MemoryRegistry();
  await registry.createNode(makeNode({ nodeId: "n1" }));
  const deps = { ...makeDeps(registry), logger: new Logger({ logLevel: "INFO" }) };
  const handlers = {
    resolve: createResolveHandler(deps),
    publish: createPublishHandler(deps),
    done: createDoneHandler(deps),
  };
  /** A callback from n1's nginx, the camera's URL arguments after nginx's own fields. */
  const callback = (
    route: "publish" | "done",
    requestId: string,
    fields: { name: string; clientid: string; args: string },
  ) =>
    handlers[route](
      httpEvent({
        method: "POST",
        path: `/hooks/${route}`,
        requestId,
        headers: nodeHeaders("n1"),
        body: callbackBody({ call: route === "publish" ? "publish" : "publish_done", ...fields }),
      }),
      CONTEXT,
    );
  /** Resolves, publishes where told and ends: the path of one camera, each request with its own id. */
  const camera = async (name: string, clientid: string, resolveId: string) => {
    const key = cameraKey(SECRETS.cameraMaster, name);
    const answer = await handlers.resolve(
      httpEvent({ path: "/resolve", query: `stream=${name}&key=${key}`, requestId: resolveId }),
      CONTEXT,
    );
    const { rtmpUrl } = JSON.parse(answer.body as string) as { rtmpUrl: string };
    const args = new URL(rtmpUrl).search.slice(1);
    expect((await callback("publish", `publish-${name}`, { name, clientid, args })).statusCode).toBe(200);
    expect((await callback("done", `done-${name}`, { name, clientid, args })).statusCode).toBe(200);
  };
  return { registry, callback, camera };
}

/** The captured lines of the requests whose ids are given. */
const linesOf = (lines: Record<string, unknown>[], requestIds: readonly string[]) =>
  lines.filter((line) => requestIds.includes(line.requestId as string));

describe("following one camera through the logs", () => {
  it("every line of a camera's resolve, publish and done carries its resolve's request id, and no other camera's line does", async () => {
    const { camera } = await fleet();
    const logs = captureLogs();
    try {
      // API Gateway's request ids are base64: `+`, `/` and `=` travel through the URL's escapes.
      await camera("cam1", "7", "dW+e7/ZqoAMEJzA=");
      await camera("cam2", "8", "resolve-cam2");
    } finally {
      logs.restore();
    }
    const lines = logs.lines();
    const cam1 = linesOf(lines, ["dW+e7/ZqoAMEJzA=", "publish-cam1", "done-cam1"]);
    // (The test's group does not know n1: protecting it fails, and that error line is on the path too.)
    expect(cam1.map((line) => line.message)).toEqual(
      expect.arrayContaining(["stream reserved", "stream live", "stream ended"]),
    );
    expect(new Set(cam1.map((line) => line.correlationId))).toEqual(new Set(["dW+e7/ZqoAMEJzA="]));
    expect(lines.filter((line) => line.correlationId === "dW+e7/ZqoAMEJzA=")).toEqual(cam1);
    // Every line names its own request too: the access log's requestId.
    expect(lines.every((line) => typeof line.requestId === "string")).toBe(true);
    const cam2 = linesOf(lines, ["resolve-cam2", "publish-cam2", "done-cam2"]);
    expect(new Set(cam2.map((line) => line.correlationId))).toEqual(new Set(["resolve-cam2"]));
  });

  it("a camera that publishes without resolving gets an id from its connection, which its done carries too", async () => {
    const { callback } = await fleet();
    const args = `key=${cameraKey(SECRETS.cameraMaster, "cam3")}`;
    const logs = captureLogs();
    try {
      await callback("publish", "publish-cam3", { name: "cam3", clientid: "9", args });
      await callback("done", "done-cam3", { name: "cam3", clientid: "9", args });
    } finally {
      logs.restore();
    }
    const lines = logs.lines();
    expect(lines.map((line) => line.message)).toEqual(expect.arrayContaining(["stream live", "stream ended"]));
    expect(new Set(lines.map((line) => line.correlationId))).toEqual(new Set(["n1/9"]));
  });

  it.each([
    ["empty", ""],
    ["with a space", "a+b"],
    ["with a quote and a brace", "%22%7D%7B"],
    ["with a line break", "a%0Ab"],
    ["too long", "a".repeat(129)],
  ])("a callback whose cid is %s is refused with a 400 and writes nothing", async (_, cid) => {
    const { registry, callback } = await fleet();
    const args = `key=${cameraKey(SECRETS.cameraMaster, "cam1")}&cid=${cid}`;
    const before = await registry.listNodes();
    for (const route of ["publish", "done"] as const) {
      const result = await callback(route, `${route}-cam1`, { name: "cam1", clientid: "7", args });
      expect(result.statusCode).toBe(400);
      expect(JSON.parse(result.body as string)).toMatchObject({ error: "invalid_correlation_id" });
    }
    expect(await registry.listNodes()).toEqual(before);
  });
});
