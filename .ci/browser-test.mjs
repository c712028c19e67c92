// Driven by .ci/browser-test.sh: asserts on the preview viewer and the email.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH, "x.js"));
const { chromium } = require("playwright-core");
const url = process.env.URL;
const shots = process.env.SHOTS;
const prefix = process.env.SHOT_PREFIX ? `${process.env.SHOT_PREFIX}-` : "";

const context = await chromium.launchPersistentContext(process.env.PROFILE, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
  viewport: { width: 1280, height: 900 },
});
// Remote images (the issue's own) are answered with one pixel: CI has no internet.
const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");
await context.route((u) => !u.href.startsWith(url), (r) =>
  r.request().resourceType() === "image" ? r.fulfill({ status: 200, contentType: "image/png", body: png }) : r.abort());
const errors = [];
function watch(page, label) {
  page.on("console", (m) => { if (m.type() === "error") errors.push(`${label}: console: ${m.text()}`); });
  page.on("pageerror", (e) => errors.push(`${label}: ${e.message}`));
  page.on("requestfailed", (r) => errors.push(`${label}: request failed ${r.url()}`));
  page.on("response", (r) => { if (r.status() >= 400) errors.push(`${label}: HTTP ${r.status()} ${r.url()}`); });
}
const fail = (msg) => { console.error(`FAIL: ${msg}`); process.exitCode = 1; };
const overflow = () => {
  const el = document.scrollingElement;
  return { scroll: el.scrollWidth, client: el.clientWidth };
};

// The viewer at desktop width, both frames loaded.
const viewer = context.pages()[0] ?? await context.newPage();
watch(viewer, "viewer");
await viewer.goto(url, { waitUntil: "load" });
await viewer.waitForTimeout(300);
await viewer.screenshot({ path: path.join(shots, `${prefix}preview-1280.png`), fullPage: false });
const phoneFrame = await (await viewer.$("#phone")).contentFrame();
const inFrame = await phoneFrame.evaluate(overflow);
if (inFrame.scroll > inFrame.client) fail(`phone frame overflows: ${JSON.stringify(inFrame)}`);

// The email alone at phone width.
const phone = await context.newPage();
watch(phone, "phone");
await phone.setViewportSize({ width: 375, height: 800 });
await phone.goto(url + "email.html", { waitUntil: "load" });
const o = await phone.evaluate(overflow);
if (o.scroll > o.client) fail(`email overflows at 375px: ${JSON.stringify(o)}`);
await phone.screenshot({ path: path.join(shots, `${prefix}email-375.png`), fullPage: true });

// The email alone at phone and desktop widths, light and dark: no
// horizontal overflow, and dark mode reaches the column and the footer.
for (const scheme of ["light", "dark"]) {
  for (const width of [375, 1280]) {
    const page = await context.newPage();
    const label = `email-${width}-${scheme}`;
    watch(page, label);
    await page.emulateMedia({ colorScheme: scheme });
    await page.setViewportSize({ width, height: 900 });
    await page.goto(url + "email.html", { waitUntil: "load" });
    const size = await page.evaluate(overflow);
    if (size.scroll > size.client) fail(`${label}: horizontal overflow ${JSON.stringify(size)}`);
    const colors = await page.evaluate(() => {
      const style = (sel, prop) => { const el = document.querySelector(sel); return el ? getComputedStyle(el)[prop] : null; };
      return { container: style(".container", "backgroundColor"), footer: style(".footer", "borderTopColor") };
    });
    const want = scheme === "dark"
      ? { container: "rgb(26, 29, 35)", footer: "rgb(42, 47, 56)" }
      : { container: "rgb(255, 255, 255)", footer: "rgb(229, 231, 235)" };
    if (JSON.stringify(colors) !== JSON.stringify(want)) fail(`${label}: colours ${JSON.stringify(colors)}, want ${JSON.stringify(want)}`);
    await page.screenshot({ path: path.join(shots, `${prefix}${label}.png`), fullPage: true });
    await page.close();
  }
}

// Live reload: touching the issue bumps /version and the viewer reloads.
const before = await (await fetch(url + "version")).text();
const reloaded = viewer.waitForEvent("load", { timeout: 10000 }).then(() => true, () => false);
const now = new Date();
fs.utimesSync(process.env.ISSUE_COPY, now, now);
fs.appendFileSync(process.env.ISSUE_COPY, "");
if (!(await reloaded)) fail("viewer did not reload after the issue changed");
const after = await (await fetch(url + "version")).text();
if (after === before) fail(`/version did not change (${before})`);

for (const e of errors) fail(e);
await context.close();
if (!process.exitCode) console.log(`ok: no overflow at 375 and 1280 px in light and dark mode, dark mode applied, no page errors, live reload works`);
