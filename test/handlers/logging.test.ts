/**
 * Secrets never reach the logs: every handler runs with the logger at DEBUG and event logging
 * asked for through the environment, through successes and refusals, and the captured output is
 * searched for each secret and credential.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import { cameraKey } from "../../lambdas/core/credentials";
import type { Registry } from "../../lambdas/core/registry";
import { createHeartbeatHandler } from "../../lambdas/handlers/heartbeat";
import { createDoneHandler, createPublishHandler } from "../../lambdas/handlers/hooks";
import { createResolveHandler } from "../../lambdas/handlers/resolve";
import { createNodesHandler } from "../../lambdas/handlers/views";
import {
  CONTEXT,
  callbackBody,
  httpEvent,
  makeDeps,
  makeNode,
  nodeHeaders,
  SECRETS,
  testNodeSecret,
} from "../support/builders";
import { captureLogs } from "../support/log-capture";

const OPERATOR_TOKEN = "operator-token-that-must-not-leak";

it("no secret, node secret, camera key or operator token is ever logged", async () => {
  const previous = process.env.POWERTOOLS_LOGGER_LOG_EVENT;
  process.env.POWERTOOLS_LOGGER_LOG_EVENT = "true";
  const output = captureLogs();
  try {
    const memory = new MemoryRegistry();
    await memory.createNode(makeNode({ nodeId: "n1" }));
    const failing: Registry = Object.create(memory);
    const exploded = async () => {
      throw new Error("registry exploded");
    };
    failing.listNodes = exploded;
    failing.nodesWithRoom = exploded;
    const deps = { ...makeDeps(memory, { operatorToken: OPERATOR_TOKEN }), logger: new Logger({ logLevel: "DEBUG" }) };
    const broken = { ...deps, registry: failing };
    const key = cameraKey(SECRETS.cameraMaster, "cam");
    const secret = testNodeSecret("n1");
    const form = (body: string, headers = nodeHeaders("n1", secret)) =>
      httpEvent({ method: "POST", path: "/hooks/publish", body, headers });

    await createResolveHandler(deps)(httpEvent({ path: "/resolve", query: `stream=cam&key=${key}` }), CONTEXT);
    await createResolveHandler(deps)(
      httpEvent({ path: "/resolve", query: `stream=cam&key=${key.slice(0, 21)}x` }),
      CONTEXT,
    );
    await createResolveHandler(broken)(httpEvent({ path: "/resolve", query: `stream=cam&key=${key}` }), CONTEXT);
    await createPublishHandler(deps)(
      form(callbackBody({ call: "publish", name: "cam", clientid: "1", args: `key=${key}` })),
      CONTEXT,
    );
    await createPublishHandler(deps)(
      form(callbackBody({ call: "publish", name: "cam", clientid: "1" }), nodeHeaders("n1", `${secret}x`)),
      CONTEXT,
    );
    await createPublishHandler(broken)(
      form(callbackBody({ call: "publish", name: "cam", clientid: "2", args: `key=${key}` })),
      CONTEXT,
    );
    await createDoneHandler(deps)(
      httpEvent({
        method: "POST",
        path: "/hooks/done",
        body: callbackBody({ call: "publish_done", name: "cam", clientid: "1" }),
        headers: nodeHeaders("n1", secret),
      }),
      CONTEXT,
    );
    await createHeartbeatHandler(deps)(
      httpEvent({
        method: "POST",
        path: "/nodes/heartbeat",
        body: JSON.stringify({ rtmpBaseUrl: "rtmp://n1/live", ready: true, streams: [] }),
        headers: { ...nodeHeaders("n1", secret), "content-type": "application/json" },
      }),
      CONTEXT,
    );
    await createNodesHandler(deps)(
      httpEvent({ path: "/nodes", headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } }),
      CONTEXT,
    );
    await createNodesHandler(deps)(
      httpEvent({ path: "/nodes", headers: { authorization: `Bearer ${OPERATOR_TOKEN}x` } }),
      CONTEXT,
    );

    const logs = output.text();
    // The capture works: the handlers did log, at DEBUG and on errors.
    expect(logs).toContain("stream reserved");
    expect(logs).toContain("registry exploded");
    for (const leak of [SECRETS.cameraMaster, secret, key, OPERATOR_TOKEN]) {
      expect({ leak, found: logs.includes(leak) }).toEqual({ leak, found: false });
    }
  } finally {
    output.restore();
    if (previous === undefined) delete process.env.POWERTOOLS_LOGGER_LOG_EVENT;
    else process.env.POWERTOOLS_LOGGER_LOG_EVENT = previous;
  }
});
