// Opens a disc's INDEX.HTM from file:// in Debian's firefox-esr (WebDriver BiDi through
// puppeteer-core; no browser download) with Firefox's default file:// policy, and prints one JSON
// document of what it saw. Called by tests/test_viewer_browser.py, which asserts on it.
"use strict";

const puppeteer = require("puppeteer-core");

async function main() {
  const [root, executable] = process.argv.slice(2);
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: executable || "/usr/bin/firefox-esr",
    headless: true,
    // puppeteer's profile relaxes file:// access (strict_origin_policy=false): put Firefox's default back.
    extraPrefsFirefox: { "security.fileuri.strict_origin_policy": true },
  });
  const seen = { requests: [], dialogs: [], errors: [] };
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 800 });
    page.on("request", (request) => seen.requests.push(request.url()));
    page.on("pageerror", (error) => seen.errors.push(String(error)));
    page.on("dialog", (dialog) => { seen.dialogs.push(dialog.message()); dialog.dismiss(); });
    // BiDi reports no events for file: loads (only for http/https), so the page also records every
    // URL it is about to load: src/href of each element as it is inserted or changed.
    await page.evaluateOnNewDocument(() => {
      window.__urls = [];
      const note = (node) => {
        if (node && node.nodeType === 1) {
          ["src", "href"].forEach((name) => { if (node[name] && typeof node[name] === "string") window.__urls.push(node[name]); });
          if (node.querySelectorAll) node.querySelectorAll("[src],[href]").forEach((child) => note(child));
        }
      };
      new MutationObserver((mutations) => mutations.forEach((mutation) => {
        if (mutation.type === "attributes") note(mutation.target);
        mutation.addedNodes.forEach(note);
      })).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["src", "href"] });
    });
    await page.goto("file://" + root + "/INDEX.HTM");
    const rendered = (index) => page.waitForFunction(
      (i) => window.__viewer && __viewer.state().status === "rendered" && __viewer.state().index === i,
      { timeout: 20000 }, index);
    await rendered(0);
    seen.listed = await page.$$eval("#series-list [data-series]", (items) => items.map((item) => ({
      uid: item.getAttribute("data-series"), description: item.querySelector(".series-description").textContent,
    })));
    seen.first = await page.evaluate(() => __viewer.currentPixels());
    seen.before = await page.evaluate(() => __viewer.state());
    await page.focus("#image");
    await page.keyboard.press("ArrowDown");
    await rendered(1);
    seen.second = await page.evaluate(() => __viewer.currentPixels());
    const box = await (await page.$("#image")).boundingBox();
    const x = box.x + box.width / 2;
    const y = box.y + box.height / 2;
    await page.mouse.move(x, y);
    await page.mouse.down();
    await page.mouse.move(x + 80, y + 60, { steps: 4 });
    await page.mouse.up();
    seen.after = await page.evaluate(() => __viewer.state());
    seen.patientNames = await page.$$eval(".patient-name", (items) => items.map((item) => item.textContent));
    seen.resources = await page.evaluate(() => [location.href].concat(window.__urls,
      performance.getEntriesByType("resource").map((entry) => entry.name)));
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(seen));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack || error) + "\n");
  process.exit(1);
});
