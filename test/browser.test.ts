// Drives the handoff example (examples/handoff) in headless Chromium: one
// browser context per device, a link scanner played by plain fetch, and a
// second server with a 3-second link lifetime for the expiry case.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Browser,
  type BrowserContext,
  chromium,
  type Page,
} from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const CHROMIUM_PATH = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const hasChromium = existsSync(CHROMIUM_PATH);
const chromiumRequired = process.env.OTT_REQUIRE_DATABASES === "1";

const repoDir = fileURLToPath(new URL("..", import.meta.url));
const serverScript = path.join(repoDir, "examples/handoff/server.js");
const screenshotDir = path.join(repoDir, "test-output/screenshots");

/** Lifetime of links on the second server, in minutes: 3 seconds. */
const SHORT_EXPIRES_IN_MINUTES = 0.05;

interface ExampleServer {
  baseURL: string;
  output: () => string;
  stop: () => Promise<void>;
}

async function findFreePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      if (address === null || typeof address === "string") {
        reject(new Error(`unexpected address of the port probe: ${String(address)}`));
        return;
      }
      probe.close(() => resolve(address.port));
    });
  });
}

/** Starts examples/handoff/server.js on a free port with a database in a new temp folder. */
async function startExample(expiresInMinutes: number): Promise<ExampleServer> {
  const port = await findFreePort();
  const dataDir = mkdtempSync(path.join(tmpdir(), "handoff-example-"));
  let output = "";
  const child: ChildProcess = spawn(process.execPath, [serverScript], {
    cwd: repoDir,
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_FILE: path.join(dataDir, "handoff.db"),
      OTT_EXPIRES_IN_MINUTES: String(expiresInMinutes),
      BETTER_AUTH_SECRET: randomBytes(32).toString("base64url"),
      NODE_ENV: "test",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  };

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`The handoff example did not start within 30 s. Output:\n${output}`));
    }, 30_000);
    const onData = () => {
      if (!output.includes("listening on")) return;
      clearTimeout(timer);
      resolve();
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(
        new Error(
          `The handoff example exited with code ${code} before listening (run npm run build first). Output:\n${output}`,
        ),
      );
    });
  }).catch(async (error) => {
    await stop();
    throw error;
  });

  return { baseURL: `http://127.0.0.1:${port}`, output: () => output, stop };
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
}

/** Returns the value of Better Auth's session cookie in a context, or undefined. */
async function sessionCookieOf(context: BrowserContext): Promise<string | undefined> {
  const cookies = await context.cookies();
  return cookies.find((cookie) => cookie.name.endsWith("session_token"))?.value;
}

async function signUp(page: Page, baseURL: string, name: string, email: string) {
  await page.goto(`${baseURL}/sign-up`);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("correct horse battery staple");
  await page.getByRole("button", { name: "Create account" }).click();
  await page.locator("h1", { hasText: `Hello, ${name}` }).waitFor();
}

/** Clicks "Continue on another device" on the account page and returns the link shown. */
async function createHandoffLink(page: Page, baseURL: string): Promise<string> {
  await page.goto(`${baseURL}/`);
  await page.getByRole("button", { name: "Continue on another device" }).click();
  await page.locator("h1", { hasText: "Continue on another device" }).waitFor();
  const link = (await page.locator("#handoff-link").textContent())?.trim() ?? "";
  expect(link).toMatch(new RegExp(`^${baseURL}/handoff\\?token=[A-Za-z0-9_-]{43}$`));
  return link;
}

/** Opens a handoff link, checks the landing page and clicks "Continue". */
async function openLinkAndContinue(page: Page, link: string) {
  const response = await page.goto(link);
  expect(response?.status()).toBe(200);
  expect(response?.headers()["referrer-policy"]).toBe("no-referrer");
  expect(response?.headers()["cache-control"]).toBe("no-store");
  await page.locator("h1", { hasText: "Sign in on this device?" }).waitFor();
  await page.getByRole("button", { name: "Continue" }).click();
}

async function expectSignedInAs(page: Page, name: string) {
  await page.locator("h1", { hasText: `Hello, ${name}` }).waitFor();
  expect(new URL(page.url()).pathname).toBe("/");
}

async function expectSignedOut(page: Page, baseURL: string) {
  await page.goto(`${baseURL}/`);
  await page.locator("h1", { hasText: "Sign in" }).waitFor();
  expect(await page.locator("h1").textContent()).toBe("Sign in");
}

async function expectUnusableLinkPage(page: Page) {
  await page.locator("h1", { hasText: "already used or has expired" }).waitFor();
  expect(new URL(page.url()).pathname).toBe("/handoff/invalid");
  expect(page.url()).not.toContain("token=");
  expect(await page.getByText("Get a new link").count()).toBe(1);
}

describe.skipIf(!hasChromium && !chromiumRequired)("handoff example in Chromium", () => {
  let browser: Browser | undefined;
  let app: ExampleServer | undefined;
  let shortLivedApp: ExampleServer | undefined;

  beforeAll(async () => {
    if (!hasChromium) {
      throw new Error(
        `Chromium was not found at ${CHROMIUM_PATH}. Install it with: apt-get update && apt-get install -y chromium`,
      );
    }
    mkdirSync(screenshotDir, { recursive: true });
    app = await startExample(5);
    shortLivedApp = await startExample(SHORT_EXPIRES_IN_MINUTES);
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await shortLivedApp?.stop();
  });

  it("hands a session to a second device once", { timeout: 120_000 }, async () => {
    if (!browser || !app || !shortLivedApp) throw new Error("beforeAll did not finish");
    const { baseURL } = app;
    const deviceA = await browser.newContext({ viewport: { width: 900, height: 1000 } });
    const deviceB = await browser.newContext({ viewport: { width: 420, height: 900 } });
    const pageA = await deviceA.newPage();
    const pageB = await deviceB.newPage();

    // Device A signs up and creates a handoff link.
    await pageA.goto(`${baseURL}/sign-up`);
    await screenshot(pageA, "01-sign-up");
    await signUp(pageA, baseURL, "Ada Lovelace", "ada@example.com");
    await screenshot(pageA, "02-account-device-a");
    const link = await createHandoffLink(pageA, baseURL);
    expect(await pageA.locator(".qr svg").count()).toBe(1);
    expect(await pageA.getByText("valid for 5 minutes").count()).toBe(1);
    await pageA.locator("[data-expires-at]", { hasText: "Expires in" }).waitFor();
    await screenshot(pageA, "03-handoff-link");
    const cookieA = await sessionCookieOf(deviceA);
    expect(cookieA).toBeTruthy();

    // A link scanner fetches the link first and must not use the token.
    const head = await fetch(link, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("referrer-policy")).toBe("no-referrer");
    expect(head.headers.get("set-cookie")).toBeNull();
    const get = await fetch(link);
    expect(get.status).toBe(200);
    expect(get.headers.get("set-cookie")).toBeNull();
    expect(await get.text()).toContain("Sign in on this device?");

    // Device B, without cookies, continues and gets a session of its own.
    expect(await sessionCookieOf(deviceB)).toBeUndefined();
    const response = await pageB.goto(link);
    expect(response?.headers()["referrer-policy"]).toBe("no-referrer");
    await pageB.locator("h1", { hasText: "Sign in on this device?" }).waitFor();
    await screenshot(pageB, "04-handoff-landing-device-b");
    expect(await sessionCookieOf(deviceB)).toBeUndefined();
    await pageB.getByRole("button", { name: "Continue" }).click();
    await expectSignedInAs(pageB, "Ada Lovelace");
    expect(pageB.url()).toBe(`${baseURL}/`);
    expect(pageB.url()).not.toContain(link.split("token=")[1]);
    // Neither the entry before nor the entry of the handoff page keeps the token.
    await pageB.goBack();
    expect(pageB.url()).not.toContain("token=");
    await pageB.goForward();
    expect(pageB.url()).toBe(`${baseURL}/`);
    await expectSignedInAs(pageB, "Ada Lovelace");
    expect(await pageB.getByTestId("email").textContent()).toBe("ada@example.com");
    const cookieB = await sessionCookieOf(deviceB);
    expect(cookieB).toBeTruthy();
    expect(cookieB).not.toBe(cookieA);
    expect(await pageB.locator("ul.sessions li").count()).toBe(2);
    await screenshot(pageB, "05-signed-in-device-b");

    // The used link shows the "already used or expired" page, on B and on a third device.
    await openLinkAndContinue(pageB, link);
    await expectUnusableLinkPage(pageB);
    expect(await pageB.getByRole("link", { name: "Go to your account" }).count()).toBe(1);
    await screenshot(pageB, "06-link-used-device-b");
    const deviceC = await browser.newContext({ viewport: { width: 900, height: 900 } });
    const pageC = await deviceC.newPage();
    await openLinkAndContinue(pageC, link);
    await expectUnusableLinkPage(pageC);
    expect(await sessionCookieOf(deviceC)).toBeUndefined();
    await screenshot(pageC, "07-link-used-device-c");

    // Signing out on B leaves A signed in.
    await pageB.goto(`${baseURL}/`);
    await pageB.getByRole("button", { name: "Sign out on this device" }).click();
    await pageB.locator("h1", { hasText: "Sign in" }).waitFor();
    await expectSignedOut(pageB, baseURL);
    await pageA.goto(`${baseURL}/`);
    await expectSignedInAs(pageA, "Ada Lovelace");
    expect(await sessionCookieOf(deviceA)).toBe(cookieA);

    // With a fresh link B signs in again, and signing out on A leaves B signed in.
    const secondLink = await createHandoffLink(pageA, baseURL);
    expect(secondLink).not.toBe(link);
    await openLinkAndContinue(pageB, secondLink);
    await expectSignedInAs(pageB, "Ada Lovelace");
    const secondCookieB = await sessionCookieOf(deviceB);
    expect(secondCookieB).not.toBe(cookieA);
    expect(secondCookieB).not.toBe(cookieB);
    await pageA.goto(`${baseURL}/`);
    await pageA.getByRole("button", { name: "Sign out on this device" }).click();
    await pageA.locator("h1", { hasText: "Sign in" }).waitFor();
    await expectSignedOut(pageA, baseURL);
    await pageB.goto(`${baseURL}/`);
    await expectSignedInAs(pageB, "Ada Lovelace");
    expect(await pageB.locator("ul.sessions li").count()).toBe(1);

    // A link opened after its lifetime shows the same page.
    const shortURL = shortLivedApp.baseURL;
    const deviceD = await browser.newContext({ viewport: { width: 900, height: 900 } });
    const deviceE = await browser.newContext({ viewport: { width: 420, height: 900 } });
    const pageD = await deviceD.newPage();
    const pageE = await deviceE.newPage();
    await signUp(pageD, shortURL, "Grace Hopper", "grace@example.com");
    const expiringLink = await createHandoffLink(pageD, shortURL);
    expect(await pageD.getByText("valid for 3 seconds").count()).toBe(1);
    await pageD.locator("[data-expires-at]", { hasText: "Expired" }).waitFor({ timeout: 10_000 });
    await pageD.waitForTimeout(500);
    await screenshot(pageD, "08-link-expired-device-d");
    await openLinkAndContinue(pageE, expiringLink);
    await expectUnusableLinkPage(pageE);
    expect(await sessionCookieOf(deviceE)).toBeUndefined();
    await screenshot(pageE, "09-link-expired-device-e");

    for (const context of [deviceA, deviceB, deviceC, deviceD, deviceE]) {
      await context.close();
    }
    expect(app.output()).not.toContain("failed");
  });
});
