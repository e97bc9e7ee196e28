/**
 * The status page in a real browser: Debian's headless Chromium driven by playwright-core (which
 * downloads no browser of its own). It asks for the operator token and keeps it out of every URL,
 * shows the nodes, streams and events, refreshes itself, and a screenshot is kept in test-output/
 * for people to look at. Without an operator token it shows the fleet at once.
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
const TOKEN = "status-page-operator-token";

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
  local = await startLocalMode(["--tick-seconds", "1", "--heartbeat-seconds", "2"], {
    cameraSecret: MASTER,
    operatorToken: TOKEN,
  });
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

it("asks for the operator token, sends it in a header only, and shows the nodes, streams and scale events, refreshes itself, and makes a screenshot", async () => {
  await waitFor("two ACTIVE nodes", async () => {
    const response = await fetch(`${local.url}/nodes`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const { nodes } = (await response.json()) as { nodes: { state: string }[] };
    return nodes.filter((n) => n.state === "ACTIVE").length === 2;
  });
  await camera("lobby");
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const requests: { url: string; authorization?: string }[] = [];
  page.on("request", (request) =>
    requests.push({ url: request.url(), authorization: request.headers().authorization }),
  );
  await page.goto(`${local.url}/`);
  await page.locator("#login").waitFor({ state: "visible" });
  await page.locator("#token").fill(TOKEN);
  await page.getByRole("button", { name: "Show the fleet" }).click();
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

  // The token stays in this tab: a reload needs no form.
  await page.reload();
  await page.locator("#streams tr", { hasText: "dock" }).waitFor();
  expect(await page.locator("#login").isVisible()).toBe(false);

  expect(requests.filter((r) => r.url.includes(TOKEN))).toEqual([]);
  const dataRequests = requests.filter((r) => /\/(nodes|streams|events)$/.test(new URL(r.url).pathname));
  expect(dataRequests.length).toBeGreaterThan(3);
  expect(dataRequests.filter((r) => r.authorization === `Bearer ${TOKEN}`).length).toBeGreaterThan(0);
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
