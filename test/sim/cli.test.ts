import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { main } from "../../sim/cli";

const dir = mkdtempSync(path.join(tmpdir(), "sim-cli-"));
const good = path.join(dir, "good.csv");
writeFileSync(good, "t,stream,event\n0,cam1,publish\n1,cam2,publish\n600,cam1,done\n600,cam2,done\n");

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(argv, { out: (t) => (out += t), err: (t) => (err += t), progress: false });
  return { code, out, err };
}

describe("npm run sim", () => {
  it("prints a table", async () => {
    const { code, out, err } = await run("--trace", good);
    expect(code).toBe(0);
    expect(err).toBe("");
    expect(out).toMatch(/^trace\s+policy\s+instanceHours\s+lowerBoundInstanceHours\s+ratio/);
    expect(out).toContain("packed");
  });

  it("prints JSON with --json, without the chart data", async () => {
    const { code, out } = await run("--trace", good, "--policy", "least-loaded", "--json", "--seed=3");
    expect(code).toBe(0);
    const result = JSON.parse(out);
    expect(result).toMatchObject({ policy: "least-loaded", seed: 3, sessions: 2, interruptedStreams: 0 });
    expect(result.series).toBeUndefined();
  });

  it("runs packed's cameras through the fixed ingest address with --ingest fixed", async () => {
    const { code, out } = await run("--trace", good, "--ingest", "fixed", "--json", "--ingest-switch-seconds=5");
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ policy: "packed", sessions: 2, rejected: 0, waitMaxSeconds: 0 });
  });

  it("writes an SVG chart with --chart", async () => {
    const chart = path.join(dir, "chart.svg");
    expect((await run("--trace", good, "--chart", chart, "--cold-boot-seconds", "30")).code).toBe(0);
    const svg = readFileSync(chart, "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trim().endsWith("</svg>")).toBe(true);
  });

  it.each<[string, string[], string]>([
    ["a bad fleet knob, naming the flag", ["--buffer-nodes", "-1"], "sim: --buffer-nodes must be at least 0"],
    ["a bad model parameter", ["--cold-boot-seconds", "soon"], "sim: --cold-boot-seconds must be a number, got 'soon'"],
    ["an unknown policy", ["--policy", "random"], "--policy must be one of packed, round-robin, least-loaded"],
    ["an unknown flag", ["--bufer-nodes", "1"], "sim: unknown option --bufer-nodes"],
    ["an unknown ingest mode", ["--ingest", "sideways"], "sim: --ingest must be one of resolve, fixed, got 'sideways'"],
    [
      "a fixed ingest address in front of a baseline",
      ["--ingest=fixed", "--policy=round-robin"],
      "sim: --ingest fixed is packed's front door; round-robin is a load balancer already",
    ],
    [
      "a camera that never waits to retry",
      ["--camera-retry-seconds", "0"],
      "sim: --camera-retry-seconds must be at least 0.001",
    ],
    ["a flag without its value", ["--seed"], "sim: --seed needs a value"],
  ])("refuses %s with exit code 2", async (_, flags, message) => {
    const { code, err } = await run("--trace", good, ...flags);
    expect(code).toBe(2);
    expect(err).toContain(message);
    expect(err).not.toContain("    at "); // no stack trace
  });

  it.each<[string, string[], string]>([
    ["a switch given a value", ["--json=yes"], "sim: --json takes no value"],
    ["a stray argument", ["trace.csv"], "sim: unexpected argument 'trace.csv'"],
    [
      "a knob that disagrees with another",
      ["--min-nodes=5", "--max-nodes=2"],
      "sim: --max-nodes (2) must be at least --min-nodes (5)",
    ],
  ])("refuses %s with exit code 2, then prints the usage", async (_, flags, message) => {
    const { code, err } = await run("--trace", good, ...flags);
    expect(code).toBe(2);
    expect(err).toContain(`${message}\nusage: npm run sim -- --trace FILE [options]`);
  });

  it("reads --flag=value for the model and the fleet", async () => {
    const { code, out } = await run(`--trace=${good}`, "--json", "--cold-boot-seconds=30", "--buffer-nodes=0");
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ policy: "packed", sessions: 2, peakNodes: 1 }); // no spare: one node
  });

  it("refuses a missing --trace", async () => {
    expect(await run()).toMatchObject({ code: 2, err: expect.stringContaining("--trace FILE is required") });
  });

  it("refuses a bad trace with its line number and exit code 1", async () => {
    const bad = path.join(dir, "bad.csv");
    writeFileSync(bad, "t,stream,event\n0,cam1,publish\n1,cam1,publish\n");
    const { code, err } = await run("--trace", bad);
    expect(code).toBe(1);
    expect(err).toBe(`sim: bad trace: ${bad}:3: 'cam1' is published again while it is live\n`);
  });

  it("refuses a trace it cannot read", async () => {
    const { code, err } = await run("--trace", path.join(dir, "missing.csv"));
    expect(code).toBe(1);
    expect(err).toContain("cannot read the trace");
  });

  it.each([["--help"], ["-h"]])("lists every flag with its default for %s", async (flag) => {
    const { code, out } = await run(flag);
    expect(code).toBe(0);
    expect(out).toContain("--cold-boot-seconds N");
    expect(out).toContain("(default 120)");
    expect(out).toContain("--cpu-threshold-percent N");
    expect(out).toContain("--ingest MODE");
    expect(out).toContain("--ingest-switch-seconds N");
  });
});
