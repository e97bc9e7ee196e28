/**
 * docs/openapi.yaml is kept true: the routes it describes are the routes the handlers serve, and
 * every answer of a scripted tour of each operation (successes and each refusal) has a documented
 * status, media type and body.
 */
import { MemoryRegistry } from "../../lambdas/adapters/memory-registry";
import { ROUTES } from "../../lambdas/contract";
import { cameraKey, viewerKey } from "../../lambdas/core/credentials";
import type { Registry } from "../../lambdas/core/registry";
import { type ApiServer, startApiServer } from "../../local/server";
import { callbackBody, makeConfig, makeDeps, makeNode, SECRETS, T0, testNodeSecret } from "../support/builders";
import { conformanceProblem, SPEC } from "../support/openapi";

describe("docs/openapi.yaml", () => {
  it("describes exactly the routes the API serves", () => {
    const described = Object.entries(SPEC.paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    const served = ROUTES.map((r) => `${r.method} ${r.path}`);
    expect(described.sort()).toEqual(served.sort());
  });

  describe("every answer conforms", () => {
    let server: ApiServer;
    const answers: string[] = [];

    beforeAll(async () => {
      const memory = new MemoryRegistry();
      // Changes that put stream "contended" always lose their race: the 503 of a publish.
      const registry: Registry = Object.create(memory);
      registry.applyChange = async (change) =>
        change.putStreams?.contended ? { applied: false, conflict: "node" } : memory.applyChange(change);
      await registry.createNode(makeNode({ nodeId: "n1" }));
      await registry.createNode(makeNode({ nodeId: "n2", launchedAt: T0 + 1, state: "PENDING" }));
      const config = makeConfig({ maxStreamsPerNode: 2, maxViewersPerStream: 1, reopenSlots: 1 });
      const deps = makeDeps(registry, { config, operatorToken: "op" });
      server = await startApiServer(deps, 0);
    });
    afterAll(() => server.close());

    const node = (id = "n1") => ({ "x-node-id": id, "x-node-secret": testNodeSecret(id) });
    const form = { "content-type": "application/x-www-form-urlencoded" };
    const json = { "content-type": "application/json" };
    const key = (s: string) => cameraKey(SECRETS.cameraMaster, s);
    const heartbeat = JSON.stringify({
      rtmpBaseUrl: "rtmp://n1.test:1935/live",
      ready: true,
      cpuPercent: 3,
      streams: [],
    });
    const publish = (name: string, clientid: string) =>
      callbackBody({ call: "publish", name, clientid, type: "live", args: `key=${key(name)}` });
    const seeKey = (s: string) => viewerKey(SECRETS.viewerMaster, s);
    const player = (call: "play" | "play_done", name: string, args = `key=${seeKey(name)}`) =>
      callbackBody({ call, name, clientid: "5", flashver: "LNX 9,0,124,2", args });
    const play = (name: string) => `/play?stream=${name}&key=${seeKey(name)}`;

    // [method, path (with query), headers, body, expected status]
    const tour: [string, string, Record<string, string>, string | undefined, number][] = [
      ["GET", `/resolve?stream=a&key=${key("a")}`, {}, undefined, 200],
      ["GET", `/resolve?stream=a&key=${key("a")}`, { accept: "text/plain" }, undefined, 200],
      ["GET", "/resolve?stream=a%20b", {}, undefined, 400],
      ["GET", "/resolve?stream=a&key=nope", {}, undefined, 403],
      ["GET", `/resolve?stream=b&key=${key("b")}`, {}, undefined, 200],
      ["GET", `/resolve?stream=c&key=${key("c")}`, {}, undefined, 503],
      ["POST", "/hooks/publish", { ...node(), ...form }, publish("a", "1"), 200],
      ["POST", "/hooks/publish", { ...node(), ...form }, "call=publish&clientid=1", 400],
      ["POST", "/hooks/publish", { ...form }, publish("a", "1"), 401],
      ["POST", "/hooks/publish", { ...node(), ...form }, publish("c", "3"), 403],
      ["POST", "/hooks/publish", { ...node(), ...form }, `${publish("a", "1")}&pad=${"x".repeat(270_000)}`, 413],
      ["POST", "/hooks/publish", { ...node(), ...json }, "{}", 415],
      // Stream a is live on n1; its viewer cap is 1 here.
      ["GET", play("a"), {}, undefined, 200],
      ["GET", play("a"), { accept: "text/plain" }, undefined, 200],
      ["GET", play("zz"), {}, undefined, 404],
      ["GET", "/play?stream=a%20b", {}, undefined, 400],
      ["GET", `/play?stream=a&key=${key("a")}`, {}, undefined, 403],
      ["POST", "/hooks/play", { ...node(), ...form }, player("play", "a"), 200],
      ["GET", play("a"), {}, undefined, 429],
      ["POST", "/hooks/play", { ...node(), ...form }, player("play", "a"), 403],
      ["POST", "/hooks/play", { ...node(), ...form }, player("play", "a", `key=${key("a")}`), 403],
      ["POST", "/hooks/play", { ...node(), ...form }, player("play_done", "a"), 400],
      ["POST", "/hooks/play", { ...form }, player("play", "a"), 401],
      ["POST", "/hooks/play", { ...node(), ...json }, "{}", 415],
      ["POST", "/hooks/play", { ...node(), ...form }, `${player("play", "a")}&pad=${"x".repeat(270_000)}`, 413],
      ["POST", "/hooks/play_done", { ...node(), ...form }, player("play_done", "a"), 200],
      ["POST", "/hooks/play_done", { ...node(), ...form }, player("play_done", "a", "key=nope"), 403],
      ["POST", "/hooks/play_done", { ...node(), ...form }, "call=play_done", 400],
      ["POST", "/hooks/play_done", { ...form }, player("play_done", "a"), 401],
      ["POST", "/hooks/play_done", { ...node(), ...json }, "{}", 415],
      [
        "POST",
        "/hooks/play_done",
        { ...node(), ...form },
        `${player("play_done", "a")}&pad=${"x".repeat(270_000)}`,
        413,
      ],
      [
        "POST",
        "/hooks/done",
        { ...node(), ...form },
        callbackBody({ call: "publish_done", name: "a", clientid: "1", args: `key=${key("a")}` }),
        200,
      ],
      [
        "POST",
        "/hooks/done",
        { ...node(), ...form },
        callbackBody({ call: "done", name: "zz", clientid: "7", args: `key=${key("zz")}` }),
        200,
      ],
      // The end of a publish nginx never admitted, without its key: nothing written.
      [
        "POST",
        "/hooks/done",
        { ...node(), ...form },
        callbackBody({ call: "publish_done", name: "zz", clientid: "8" }),
        403,
      ],
      // Node n1 has room again: this publish gets as far as the registry, and loses every race.
      ["POST", "/hooks/publish", { ...node(), ...form }, publish("contended", "9"), 503],
      ["POST", "/hooks/done", { ...node(), ...form }, "call=done", 400],
      ["POST", "/hooks/done", { ...form }, "call=done", 401],
      ["POST", "/hooks/done", { ...node(), ...json }, "{}", 415],
      ["POST", "/hooks/done", { ...node(), ...form }, `call=done&name=a&clientid=1&pad=${"x".repeat(270_000)}`, 413],
      ["POST", "/nodes/heartbeat", { ...node(), ...json }, heartbeat, 200],
      ["POST", "/nodes/heartbeat", { ...node(), ...json }, "{}", 400],
      ["POST", "/nodes/heartbeat", { ...json }, heartbeat, 401],
      ["POST", "/nodes/heartbeat", { ...node(), ...form }, heartbeat, 415],
      ["POST", "/nodes/heartbeat", { ...node(), ...json }, JSON.stringify({ pad: "x".repeat(270_000) }), 413],
      ["POST", "/nodes/boot", { ...node("n2"), ...json }, JSON.stringify({ stage: "packages" }), 200],
      ["POST", "/nodes/boot", { ...node("n2"), ...json }, JSON.stringify({ stage: "reboot" }), 400],
      ["POST", "/nodes/boot", { ...json }, JSON.stringify({ stage: "packages" }), 401],
      ["POST", "/nodes/boot", { ...node("n2"), ...form }, "stage=packages", 415],
      ["POST", "/nodes/boot", { ...node("n2"), ...json }, JSON.stringify({ pad: "x".repeat(270_000) }), 413],
      ["POST", "/nodes/boot", { ...node("n2"), ...json }, JSON.stringify({ stage: "units", failed: "no nginx" }), 200],
      ["GET", "/nodes", { authorization: "Bearer op" }, undefined, 200],
      ["GET", "/nodes", {}, undefined, 401],
      ["GET", "/streams", { authorization: "Bearer op" }, undefined, 200],
      ["GET", "/streams", { authorization: "Bearer no" }, undefined, 401],
      ["GET", "/events", { authorization: "Bearer op" }, undefined, 200],
      ["GET", "/events", {}, undefined, 401],
      ["GET", "/", {}, undefined, 200],
      ["GET", "/?token=op", {}, undefined, 400],
      ["GET", "/status", { authorization: "Bearer op" }, undefined, 200],
      ["GET", "/status", {}, undefined, 401],
    ];

    // Every route answers 503 with Retry-After when the registry is busy (its throttling outlasted the SDK's retries).
    const busyTour: [string, string, Record<string, string>, string | undefined][] = [
      ["GET", `/resolve?stream=a&key=${key("a")}`, {}, undefined],
      ["POST", "/hooks/publish", { ...node(), ...form }, publish("a", "1")],
      [
        "POST",
        "/hooks/done",
        { ...node(), ...form },
        callbackBody({ call: "publish_done", name: "a", clientid: "1", args: `key=${key("a")}` }),
      ],
      ["POST", "/nodes/heartbeat", { ...node(), ...json }, heartbeat],
      ["GET", play("a"), {}, undefined],
      ["POST", "/hooks/play", { ...node(), ...form }, player("play", "a")],
      ["POST", "/hooks/play_done", { ...node(), ...form }, player("play_done", "a")],
      ["POST", "/nodes/boot", { ...node(), ...json }, JSON.stringify({ stage: "packages" })],
      ["GET", "/nodes", { authorization: "Bearer op" }, undefined],
      ["GET", "/streams", { authorization: "Bearer op" }, undefined],
      ["GET", "/events", { authorization: "Bearer op" }, undefined],
      ["GET", "/status", { authorization: "Bearer op" }, undefined],
    ];
    it.each(busyTour)("%s %s → 503 when the registry is throttled", async (method, target, headers, body) => {
      const throttled = Object.assign(new Error("Rate of requests exceeds the allowed throughput."), {
        name: "ProvisionedThroughputExceededException",
      });
      const busy: Registry = Object.create(new MemoryRegistry());
      for (const name of ["listNodes", "getNode", "applyChange", "recentEvents", "createNode", "claimOf"] as const) {
        busy[name] = async () => {
          throw throttled;
        };
      }
      const busyServer = await startApiServer(makeDeps(busy, { operatorToken: "op" }), 0);
      try {
        const response = await fetch(`${busyServer.url}${target}`, { method, headers, body });
        const text = await response.text();
        expect({ status: response.status, retryAfter: response.headers.get("retry-after") }).toEqual({
          status: 503,
          retryAfter: "2",
        });
        const route = target.split("?")[0] as string;
        expect(
          conformanceProblem(method, route, 503, response.headers.get("content-type") ?? undefined, text),
        ).toBeUndefined();
        expect(JSON.parse(text)).toEqual({ error: "unavailable", message: expect.any(String) });
        answers.push(`${method} ${route} 503`);
      } finally {
        await busyServer.close();
      }
    });

    it.each(tour)("%s %s → %#", async (method, target, headers, body, status) => {
      const response = await fetch(`${server.url}${target}`, { method, headers, body });
      const text = await response.text();
      expect({ status: response.status, text }).toEqual({ status, text });
      const route = target.split("?")[0] as string;
      expect(
        conformanceProblem(method, route, response.status, response.headers.get("content-type") ?? undefined, text),
      ).toBeUndefined();
      answers.push(`${method} ${route} ${response.status}`);
    });

    it("covers every documented status of every operation", () => {
      const documented = Object.entries(SPEC.paths).flatMap(([p, ops]) =>
        Object.entries(ops).flatMap(([m, op]) => Object.keys(op.responses).map((s) => `${m.toUpperCase()} ${p} ${s}`)),
      );
      expect(documented.filter((d) => !answers.includes(d))).toEqual([]);
    });
  });
});
