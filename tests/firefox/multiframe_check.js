// Opens a disc of multi-frame images (enhanced objects, cine loops) from file:// in Debian's
// firefox-esr (WebDriver BiDi through puppeteer-core; Firefox's default file:// policy) and prints
// one JSON document of what it saw: per series the canvas's grey levels and the window, per cine
// how far the frame counter moved while playing, and the script-free page's previews. Called by
// tests/test_viewer_multiframe.py, which asserts on it (and does the same in Chromium).
"use strict";

const puppeteer = require("puppeteer-core");
const checks = require("./multiframe_page.js");

async function main() {
  const [root, executable, measureMs] = process.argv.slice(2);
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: executable || "/usr/bin/firefox-esr",
    headless: true,
    extraPrefsFirefox: { "security.fileuri.strict_origin_policy": true },
  });
  const seen = { errors: [], series: {}, cine: {} };
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 800 });
    page.on("pageerror", (error) => seen.errors.push(String(error)));
    await page.goto("file://" + root + "/INDEX.HTM");
    await page.waitForFunction("window.__viewer && __viewer.state().status === 'rendered'", { timeout: 20000 });
    const keys = await page.evaluate(checks.seriesKeys);
    for (const key of keys) {
      await page.evaluate((k) => __viewer.open(k), key);
      await page.waitForFunction(checks.renderedIn, { timeout: 20000 }, key, 0);
      seen.series[key] = await page.evaluate(checks.shown);
      if (seen.series[key].frameRate) {
        await page.focus("#image");
        await page.keyboard.press(" ");
        seen.cine[key] = await page.evaluate(checks.measurePlay, Number(measureMs) || 1500);
        await page.keyboard.press(" ");
        seen.cine[key].pausedAfter = await page.evaluate(() => !__viewer.state().playing);
      } else if (seen.series[key].count > 1) {
        await page.focus("#image");
        await page.keyboard.press("ArrowDown");
        await page.waitForFunction(checks.renderedIn, { timeout: 20000 }, key, 1);
        seen.series[key].second = await page.evaluate(checks.shown);
      }
    }
    const plain = await browser.newPage();
    await plain.goto("file://" + root + "/IHE_PDI/INDEX.HTM");
    await plain.waitForFunction(checks.imagesLoaded, { timeout: 20000 });
    seen.plain = await plain.evaluate(checks.plainPreviews);
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(seen));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack || error) + "\n");
  process.exit(1);
});
