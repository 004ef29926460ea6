// The keys page in a real headless Chromium: sign in, create a key and read its secret from
// the page, use it over HTTP, see a hostile name as text, rotate with a grace period, revoke,
// compare the usage chart with the usage API, and refuse a cross-site form post.
//
// Run by `examples/demo/tests/keys_page.rs` against a running demo:
//   BASE_URL=http://127.0.0.1:8080 ADMIN_KEY=sk_live_... node keys_page.mjs
// SCREENSHOTS=dir saves the page at desktop and phone width. CHROMIUM names the browser
// (default /usr/bin/chromium). Exits non-zero, saying why, on the first failed check.

import { strict as assert } from "node:assert";
import http from "node:http";
import { chromium } from "playwright-core";

const BASE = process.env.BASE_URL;
const ADMIN = process.env.ADMIN_KEY;
const SHOTS = process.env.SCREENSHOTS || "";
assert.ok(BASE && ADMIN, "BASE_URL and ADMIN_KEY are required");
const PAGE = BASE + "/ui/";

/** A request to the demo's API with a key, as a service's client makes it. */
async function api(method, path, key, body) {
  const response = await fetch(BASE + path, {
    method,
    headers: { Authorization: "Bearer " + key, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

async function waitUntil(what, check, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox"],
});
const evil = http.createServer((req, res) => {
  // Another origin's page that posts a key request to the keys page's API when loaded.
  res.setHeader("Content-Type", "text/html");
  res.end(`<!doctype html><form id="f" method="POST" enctype="text/plain"
    action="${PAGE}api/v1/api-keys"><input name='{"name":"evil","permissions":[],"x":"' value='"}'></form>
    <script>document.getElementById("f").submit()</script>`);
});
await new Promise((r) => evil.listen(0, "127.0.0.1", r));
const evilUrl = "http://127.0.0.1:" + evil.address().port + "/";

let failed = false;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const alerts = [];
  page.on("dialog", async (d) => {
    alerts.push(d.message());
    await d.dismiss();
  });
  const sessionCookie = async () => (await context.cookies()).find((c) => c.name === "keygate_session");

  // Sign in: a wrong key shows an error and sets no cookie.
  await page.goto(PAGE);
  await page.fill('input[name="key"]', "sk_live_not_a_key");
  await page.click('#login-form button[type="submit"]');
  await page.waitForSelector("#login-error:not([hidden])");
  assert.equal(await sessionCookie(), undefined, "a wrong key sets no cookie");
  await page.fill('input[name="key"]', ADMIN);
  await page.click('#login-form button[type="submit"]');
  await page.waitForSelector("#keys[data-loaded]");
  const cookie = await sessionCookie();
  assert.ok(cookie, "a session cookie after signing in");
  assert.equal(cookie.httpOnly, true, "the cookie is HttpOnly");
  assert.equal(cookie.sameSite, "Strict", "the cookie is SameSite=Strict");
  assert.equal(await page.inputValue('input[name="key"]'), "", "the pasted key is not left in the form");

  // Every control has a label.
  const unlabelled = await page.$$eval("input, select", (els) =>
    els.filter((e) => e.type !== "hidden" && e.labels.length === 0).map((e) => e.outerHTML),
  );
  assert.deepEqual(unlabelled, [], "unlabelled controls");

  // The keyboard alone: type a name, Tab to the first scope, Space checks it, back to the
  // name and Enter submits; the secret gets the focus, Tab reaches Copy then Done.
  await page.focus("#create-name");
  await page.keyboard.type("keyboard key");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Space");
  assert.equal(await page.isChecked("#create-scopes input[name=\"scope\"] >> nth=0"), true, "Space checks a scope");
  await page.keyboard.press("Shift+Tab");
  await page.keyboard.press("Enter");
  await page.waitForSelector("[data-secret]");
  assert.equal(await page.evaluate(() => document.activeElement.hasAttribute("data-secret")), true, "the secret has the focus");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.hasAttribute("data-dismiss")), true, "Tab reaches Done");
  await page.keyboard.press("Enter");
  assert.equal(await page.$("[data-secret]"), null, "Enter on Done dismisses the secret");

  async function create(name, scopes) {
    await page.fill('input[name="name"]', name);
    for (const scope of scopes) await page.check(`#create-scopes input[name="scope"][value="${scope}"]`);
    await page.click('#create-form button[type="submit"]');
    await page.waitForSelector("[data-secret]");
    const secret = (await page.textContent("[data-secret]")).trim();
    const id = (await api("GET", "/v1/me", secret)).json.api_key_id;
    await page.waitForSelector(`tr[data-key-id="${id}"]`);
    return { secret, id };
  }

  async function dismiss() {
    await page.click("[data-dismiss]");
    assert.equal(await page.$("[data-secret]"), null, "the secret is gone from the page");
  }

  // Create a key and read its secret from the page; use it over HTTP.
  const made = await create("page key", ["tasks:read"]);
  assert.match(made.secret, /^sk_live_/);
  assert.equal((await api("GET", "/v1/tasks", made.secret)).status, 200, "the new key works");
  await page.click("[data-copy]");
  await dismiss();
  const html = await page.content();
  assert.ok(!html.includes(made.secret), "no secret left in the DOM");
  const stored = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }]));
  assert.ok(!stored.includes(made.secret), "no secret in storage");
  assert.ok(!page.url().includes(made.secret), "no secret in the URL");

  // A hostile name is shown as text.
  const hostile = "<img src=x onerror=alert(1)>";
  const xss = await create(hostile, ["tasks:read"]);
  await dismiss();
  const shown = await page.textContent(`tr[data-key-id="${xss.id}"] td:first-child`);
  assert.equal(shown, hostile, "the name shows its characters");
  assert.equal(await page.$("#keys-body img"), null, "no element made from the name");
  assert.deepEqual(alerts, [], "no script ran");

  // Usage: with the two requests above (`/v1/me` and `/v1/tasks`), five, counted by the next
  // flush; the chart has a bar per day matching the usage API.
  for (let i = 0; i < 3; i++) assert.equal((await api("GET", "/v1/tasks", made.secret)).status, 200);
  await waitUntil("the usage flush", async () => {
    const usage = await api("GET", `/v1/api-keys/${made.id}/usage?days=30`, ADMIN);
    return usage.json.data.reduce((n, d) => n + d.count, 0) >= 5;
  });
  await page.reload();
  await page.waitForSelector("#keys[data-loaded]");
  const usage = (await api("GET", `/v1/api-keys/${made.id}/usage?days=30`, ADMIN)).json.data;
  const bars = await page.$$eval(`svg[data-usage-chart="${made.id}"] rect`, (rects) =>
    rects.map((r) => ({ date: r.dataset.day, count: Number(r.dataset.count), height: Number(r.getAttribute("height")) })),
  );
  assert.equal(bars.length, 30, "one bar per day");
  assert.deepEqual(bars.map((b) => [b.date, b.count]), usage.map((d) => [d.date, d.count]), "bars match the usage API");
  const max = Math.max(...usage.map((d) => d.count));
  const chartHeight = Number(await page.getAttribute(`svg[data-usage-chart="${made.id}"]`, "height"));
  for (const bar of bars) {
    const expected = bar.count === 0 ? 0 : Math.max(1, Math.round((bar.count / max) * chartHeight));
    assert.equal(bar.height, expected, "the bar of " + bar.date + " is as tall as its count");
  }
  assert.equal(bars.at(-1).count, 5, "today's bar counts the five requests");

  if (SHOTS) {
    await page.screenshot({ path: SHOTS + "/desktop.png", fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: SHOTS + "/phone.png", fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  // Rotate with a grace period: the new key works, and so does the old one, for now.
  await page.click(`tr[data-key-id="${made.id}"] [data-action="rotate"]`);
  await page.selectOption("#rotate-grace", "3600");
  await page.click('#rotate-dialog button[value="rotate"]');
  await page.waitForSelector("[data-secret]");
  const rotated = (await page.textContent("[data-secret]")).trim();
  assert.notEqual(rotated, made.secret);
  assert.equal((await api("GET", "/v1/tasks", rotated)).status, 200, "the rotated key works");
  assert.equal((await api("GET", "/v1/tasks", made.secret)).status, 200, "the old key works in its grace period");
  await dismiss();
  const rotatedId = (await api("GET", "/v1/me", rotated)).json.api_key_id;

  // Revoke after a confirmation: cancelling keeps the key; confirming stops it at once.
  await page.waitForSelector(`tr[data-key-id="${rotatedId}"] [data-action="revoke"]`);
  await page.click(`tr[data-key-id="${rotatedId}"] [data-action="revoke"]`);
  await page.click('#confirm-dialog button[value="cancel"]');
  assert.equal((await api("GET", "/v1/tasks", rotated)).status, 200, "cancelled: the key still works");
  await page.click(`tr[data-key-id="${rotatedId}"] [data-action="revoke"]`);
  await page.click('#confirm-dialog button[value="confirm"]');
  await page.waitForSelector(`tr[data-key-id="${rotatedId}"] .badge.revoked`);
  assert.equal((await api("GET", "/v1/tasks", rotated)).status, 401, "a revoked key is refused");

  // Edit: name and scopes.
  await page.click(`tr[data-key-id="${xss.id}"] [data-action="edit"]`);
  await page.fill("#edit-name", "renamed");
  await page.check('#edit-scopes input[value="tasks:write"]');
  await page.click('#edit-dialog button[value="save"]');
  await page.waitForFunction(
    (id) => document.querySelector(`tr[data-key-id="${id}"] td`)?.textContent === "renamed",
    xss.id,
  );
  const edited = (await api("GET", `/v1/api-keys/${xss.id}`, ADMIN)).json;
  assert.deepEqual(edited.permissions.sort(), ["tasks:read", "tasks:write"], "scopes saved");

  // A form posted from another origin, with the session cookie, is refused.
  const before = (await api("GET", "/v1/api-keys?limit=100", ADMIN)).json.data.length;
  const attack = await context.newPage();
  const posted = attack.waitForResponse((r) => r.url().startsWith(PAGE + "api/"));
  await attack.goto(evilUrl);
  assert.equal((await posted).status(), 403, "the cross-site post is refused");
  const after = (await api("GET", "/v1/api-keys?limit=100", ADMIN)).json.data;
  assert.equal(after.length, before, "no key was made");
  assert.ok(!after.some((k) => k.name === "evil"));

  // Signing out ends the session.
  await page.click("#sign-out");
  await page.waitForSelector("#login:not([hidden])");
  const status = await page.evaluate(async () => (await fetch("api/v1/api-keys")).status);
  assert.equal(status, 401, "signed out: the API is closed to the page");
  console.log("keys page: every check passed");
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await browser.close();
  evil.close();
}
process.exit(failed ? 1 : 0);
