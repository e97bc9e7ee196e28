/**
 * The status page in a real browser: Debian's headless Chromium driven by playwright-core (which
 * downloads no browser of its own), against real local mode. It asks for the operator token and
 * keeps it out of every URL; shows the nodes in fill order against the configured CPU threshold,
 * the streams, a history chart and the scaler's events; is pushed each change over one event
 * stream (no polling, no reload); and shows no secret. A screenshot is kept in test-output/.
 */
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { cameraKey } from "../../lambdas/core/credentials";
import { launchChromium } from "../support/chromium";
import { Camera, type LocalMode, startLocalMode, waitFor } from "../support/local-mode";

jest.setTimeout(180_000);

const SCREENSHOT = path.resolve(__dirname, "../../test-output/status-page.png");
const MASTER = "status-page-master";
const VIEWER_MASTER = "status-page-viewer-master";
const TOKEN = "status-page-operator-token";
/** Not the default (80): the page must show the fleet's own. */
const THRESHOLD = 65;

let local: LocalMode;
let browser: Browser;
const cameras: Camera[] = [];

async function camera(stream: string): Promise<Camera> {
  const url = `${local.url}/resolve?stream=${stream}&key=${cameraKey(MASTER, stream)}`;
  const response = await fetch(url, { headers: { accept: "text/plain" } });
  const cam = new Camera(stream, (await response.text()).trim());
  cameras.push(cam);
  return cam;
}

const asOperator = { headers: { authorization: `Bearer ${TOKEN}` } };

beforeAll(async () => {
  local = await startLocalMode(
    ["--tick-seconds", "1", "--heartbeat-seconds", "2", "--cpu-threshold-percent", String(THRESHOLD)],
    { cameraSecret: MASTER, operatorToken: TOKEN, viewerSecret: VIEWER_MASTER },
  );
  browser = await launchChromium();
});

afterAll(async () => {
  await Promise.all(cameras.map((c) => c.stop()));
  await browser?.close();
  await local?.stop();
});

/**
 * Records, in the page, every timer set with setInterval and every message an EventSource receives:
 * the proof that updates are pushed, not polled, and the pushed data to look for secrets in.
 */
const RECORDER = `
  window.intervals = [];
  window.pushed = [];
  const setIntervalOf = window.setInterval.bind(window);
  window.setInterval = (handler, ms, ...rest) => {
    window.intervals.push(ms);
    return setIntervalOf(handler, ms, ...rest);
  };
  const Source = window.EventSource;
  window.EventSource = class extends Source {
    constructor(url, init) {
      super(url, init);
      this.addEventListener("message", (message) => window.pushed.push(message.data));
    }
  };
`;

/** How many pixels of the chart's canvas are drawn on. */
const INKED_PIXELS = `(() => {
  const canvas = document.querySelector("#chart canvas");
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let count = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) count++;
  return count;
})()`;

describe("the status page, on local mode with an operator token", () => {
  let page: Page;
  const requests: { url: string; method: string; authorization?: string }[] = [];
  const bodies: string[] = [];

  beforeAll(async () => {
    await waitFor("two ACTIVE nodes", async () => {
      const response = await fetch(`${local.url}/nodes`, asOperator);
      const { nodes } = (await response.json()) as { nodes: { state: string }[] };
      return nodes.filter((n) => n.state === "ACTIVE").length === 2;
    });
    await camera("lobby");
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.addInitScript(RECORDER);
    page.on("request", (request) =>
      requests.push({ url: request.url(), method: request.method(), authorization: request.headers().authorization }),
    );
    page.on("response", async (response) => {
      if (!(response.headers()["content-type"] ?? "").startsWith("text/event-stream")) {
        bodies.push(await response.text().catch(() => ""));
      }
    });
  });

  it("asks for the operator token, then shows the nodes in fill order, the streams and the scaler's events", async () => {
    await page.goto(`${local.url}/`);
    await page.locator("#login").waitFor({ state: "visible" });
    await page.locator("#token").fill(TOKEN);
    await page.getByRole("button", { name: "Show the fleet" }).click();
    await page.locator("#streams tr", { hasText: "lobby" }).getByText("LIVE").waitFor({ timeout: 30_000 });
    const shown = await page.locator("#nodes tr td:first-child").allInnerTexts();
    const { nodes } = (await (await fetch(`${local.url}/nodes`, asOperator)).json()) as { nodes: { nodeId: string }[] };
    expect(shown).toEqual(nodes.map((n) => n.nodeId));
    expect(shown.slice(0, 2)).toEqual(["local-1", "local-2"]);
    expect(await page.locator("#nodes").innerText()).toContain("ACTIVE");
    expect(await page.locator("#streams").innerText()).toMatch(/lobby\s+local-1\s+LIVE/);
    expect(await page.locator("#events").innerText()).toContain("desired capacity 0 → 2");
  });

  it("measures the nodes' CPU against the fleet's configured threshold, not a fixed 80%", async () => {
    expect(await page.locator("#threshold").textContent()).toContain(`full at ${THRESHOLD}% CPU`);
    expect(await page.locator("#nodes th").nth(2).innerText()).toBe(`CPU (full at ${THRESHOLD}%)`);
    // The chart's threshold line too.
    expect(new Set((await page.evaluate("window.statusChart.data[4]")) as number[])).toEqual(new Set([THRESHOLD]));
  });

  it("draws the history chart of nodes, streams and CPU with the bundled uPlot", async () => {
    await page.locator("#chart canvas").waitFor();
    await waitFor(
      "two samples",
      async () => ((await page.evaluate("window.statusChart.data[0].length")) as number) >= 2,
    );
    expect(await page.evaluate("window.statusChart.series.map((s) => s.label).slice(1)")).toEqual([
      "active nodes",
      "live streams",
      "mean CPU %",
      "scale-out threshold %",
    ]);
    const inked = (await page.evaluate(INKED_PIXELS)) as number;
    expect(inked).toBeGreaterThan(1000);
    // Every script of the page came with it: nothing from a CDN.
    expect(requests.filter((r) => !r.url.startsWith(local.url))).toEqual([]);
  });

  it("updates when a camera starts, pushed over one open event stream: no polling timer, no reload", async () => {
    await page.evaluate("window.sameDocument = true");
    const before = requests.length;
    await camera("dock");
    await page.locator("#streams tr", { hasText: "dock" }).getByText("LIVE").waitFor({ timeout: 30_000 });
    expect(await page.evaluate("window.sameDocument")).toBe(true);
    expect(await page.evaluate("window.statusSource.readyState")).toBe(1);
    expect(await page.evaluate("window.intervals")).toEqual([]);
    expect(requests.slice(before).map((r) => `${r.method} ${new URL(r.url).pathname}`)).toEqual([]);
    expect(await page.locator("#live").innerText()).toContain("pushed");

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
  });

  it("shows no secret: no master secret, node credential or camera key in its page, its answers or its pushes, the token only in the header it was typed for", async () => {
    const { nodes } = (await (await fetch(`${local.url}/local/nodes`, asOperator)).json()) as {
      nodes: { dir: string }[];
    };
    // Each node's secret and shim token, from the files its nginx runs with.
    const nodeSecrets = nodes.flatMap(({ dir }) =>
      readdirSync(dir)
        .filter((name) => name.endsWith(".conf") || name === "shim-token")
        .flatMap((name) => {
          const text = readFileSync(path.join(dir, name), "utf8");
          return name === "shim-token" ? [text.trim()] : [...text.matchAll(/X-Node-Secret (\S+);/g)].map((m) => m[1]);
        }),
    ) as string[];
    expect(nodeSecrets.length).toBeGreaterThanOrEqual(4);
    const secrets = [
      MASTER,
      VIEWER_MASTER,
      TOKEN,
      cameraKey(MASTER, "lobby"),
      cameraKey(MASTER, "dock"),
      ...nodeSecrets,
    ];
    const pushed = (await page.evaluate("window.pushed")) as string[];
    expect(pushed.length).toBeGreaterThan(1);
    const seen = [await page.content(), await page.locator("body").innerText(), ...bodies, ...pushed];
    for (const secret of secrets) {
      expect([secret, seen.filter((text) => text.includes(secret)).length]).toEqual([secret, 0]);
    }
    expect(requests.filter((r) => r.url.includes(TOKEN))).toEqual([]);
    const withToken = requests.filter((r) => r.authorization !== undefined).map((r) => r.authorization);
    expect(withToken.length).toBeGreaterThan(0);
    expect(new Set(withToken)).toEqual(new Set([`Bearer ${TOKEN}`]));
  });

  it("keeps the token in this tab: a reload needs no form", async () => {
    await page.reload();
    await page.locator("#streams tr", { hasText: "dock" }).waitFor();
    expect(await page.locator("#login").isVisible()).toBe(false);
  });
});

it("says when the token typed in is refused, and asks again", async () => {
  const page = await browser.newPage();
  await page.goto(`${local.url}/`);
  await page.locator("#token").fill("not-the-token");
  await page.getByRole("button", { name: "Show the fleet" }).click();
  await page.getByText("That token was refused.").waitFor();
  expect(await page.locator("#login").isVisible()).toBe(true);
  expect(await page.evaluate("sessionStorage.length")).toBe(0);
});

it("shows the fleet without asking for a token when the control plane has none", async () => {
  const open = await startLocalMode(["--min-nodes", "0", "--buffer-nodes", "0"]);
  try {
    const page = await browser.newPage();
    await page.goto(`${open.url}/`);
    await page.locator("#updated").getByText("Updated").waitFor();
    expect(await page.locator("#cards").innerText()).toContain("ACTIVE");
    expect(await page.locator("#login").isVisible()).toBe(false);
  } finally {
    await open.stop();
  }
});
