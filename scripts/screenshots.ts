/**
 * `npm run screenshots`: the README's pictures of the status page, taken from the real thing.
 * Starts local mode (real nginx-rtmp nodes) with camera keys and an operator token drawn for the
 * run, publishes a few ffmpeg test cameras one after another (the stand-ins of the e2e tests), so
 * that the fleet fills its first node and scales out, opens the page in Debian's Chromium, types
 * the token and writes docs/screenshots/*.png. Everything it starts is stopped, whatever happens.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser } from "playwright-core";
import { cameraKey } from "../lambdas/core/credentials";
import { launchChromium } from "../test/support/chromium";
import { Camera, type LocalMode, startLocalMode, waitFor } from "../test/support/local-mode";
import { type CommandSpec, noArguments } from "./command-line";

const OUT_DIR = path.resolve(__dirname, "..", "docs", "screenshots");
/** Three streams fill a node: five cameras spill onto the second and bring a third one up. */
const CAMERAS = ["lobby", "dock", "gate", "yard", "roof"];
const STREAMS_PER_NODE = 3;
/** Seconds between two cameras, so that the history chart shows the fleet growing. */
const CAMERA_GAP_SECONDS = 4;

const COMMAND: CommandSpec = {
  name: "screenshots",
  synopsis: "npm run screenshots",
  summary: "Writes docs/screenshots/status-page.png from local mode with real nodes and test cameras.",
  options: {},
};

const pause = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

async function publish(url: string, master: string, stream: string): Promise<Camera> {
  const answer = await fetch(`${url}/resolve?stream=${stream}&key=${cameraKey(master, stream)}`, {
    headers: { accept: "text/plain" },
  });
  if (!answer.ok) throw new Error(`resolve ${stream}: HTTP ${answer.status} ${await answer.text()}`);
  return new Camera(stream, (await answer.text()).trim());
}

async function shoot(): Promise<void> {
  const master = randomBytes(24).toString("base64url");
  const token = randomBytes(24).toString("base64url");
  const cameras: Camera[] = [];
  let local: LocalMode | undefined;
  let browser: Browser | undefined;
  try {
    local = await startLocalMode(
      ["--tick-seconds", "1", "--heartbeat-seconds", "2", "--max-streams-per-node", String(STREAMS_PER_NODE)],
      { cameraSecret: master, operatorToken: token },
    );
    const url = local.url;
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${url}/`);
    await page.locator("#token").fill(token);
    await page.getByRole("button", { name: "Show the fleet" }).click();
    await page.locator("#nodes tr", { hasText: "ACTIVE" }).first().waitFor({ timeout: 60_000 });
    for (const stream of CAMERAS) {
      // A camera that finds no room waits for the node the scaler is bringing up.
      cameras.push(await waitFor(`room for ${stream}`, () => publish(url, master, stream), 60_000));
      await pause(CAMERA_GAP_SECONDS);
    }
    for (const stream of CAMERAS) {
      await page.locator("#streams tr", { hasText: stream }).getByText("LIVE").waitFor({ timeout: 60_000 });
    }
    await pause(CAMERA_GAP_SECONDS);
    mkdirSync(OUT_DIR, { recursive: true });
    const file = path.join(OUT_DIR, "status-page.png");
    await page.screenshot({ path: file, fullPage: true });
    console.log(`screenshots: wrote ${path.relative(process.cwd(), file)}`);
  } finally {
    await Promise.all(cameras.map((camera) => camera.stop()));
    await browser?.close();
    await local?.stop();
  }
}

if (require.main === module && noArguments(COMMAND)) {
  shoot().catch((error: Error) => {
    console.error(`screenshots: ${error.message}`);
    process.exitCode = 1;
  });
}
