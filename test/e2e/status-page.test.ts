/**
 * The status page in a real browser: Debian's headless Chromium driven by playwright-core (which
 * downloads no browser of its own). It shows the nodes, streams and events, refreshes itself, and
 * a screenshot is kept in test-output/ for people to look at.
 */
import { existsSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { type Browser, chromium } from "playwright-core";
import { cameraKey } from "../../lambdas/core/credentials";
import { Camera, type LocalMode, startLocalMode, waitFor } from "../support/local-mode";

jest.setTimeout(180_000);

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOT = path.resolve(__dirname, "../../test-output/status-page.png");
const MASTER = "status-page-master";

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

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium`);
  local = await startLocalMode(["--tick-seconds", "1", "--heartbeat-seconds", "2"], { cameraSecret: MASTER });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

afterAll(async () => {
  await Promise.all(cameras.map((c) => c.stop()));
  await browser?.close();
  await local?.stop();
});

it("shows the nodes, streams and scale events, refreshes itself, and makes a screenshot", async () => {
  await waitFor("two ACTIVE nodes", async () => {
    const { nodes } = (await (await fetch(`${local.url}/nodes`)).json()) as { nodes: { state: string }[] };
    return nodes.filter((n) => n.state === "ACTIVE").length === 2;
  });
  await camera("lobby");
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${local.url}/`);
  // The camera shows up live once its publish went through (the page polls every 2 s).
  await page.locator("#streams tr", { hasText: "lobby" }).getByText("LIVE").waitFor({ timeout: 30_000 });
  const nodesTable = await page.locator("#nodes").innerText();
  expect(nodesTable).toContain("local-1");
  expect(nodesTable).toContain("ACTIVE");
  expect(await page.locator("#streams").innerText()).toMatch(/lobby\s+local-1\s+LIVE/);
  expect(await page.locator("#events").innerText()).toContain("desired capacity 0 → 2");

  // A new camera appears without reloading the page.
  await camera("dock");
  await page.locator("#streams tr", { hasText: "dock" }).getByText("LIVE").waitFor({ timeout: 30_000 });

  mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);
});
