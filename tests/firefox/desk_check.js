// The technician's flow at the desk in Debian's firefox-esr (WebDriver BiDi through puppeteer-core;
// no browser download): sign in, fill the request form by its field names, check, save, export,
// wait on the job page until the export is done. Prints one JSON document of what it saw; called by
// tests/test_desk_browser.py, which asserts on it.
"use strict";

const puppeteer = require("puppeteer-core");

async function main() {
  const [base, user, password, fieldsJson, executable] = process.argv.slice(2);
  const fields = JSON.parse(fieldsJson);
  const browser = await puppeteer.launch({ browser: "firefox", executablePath: executable || "/usr/bin/firefox-esr",
                                           headless: true });
  const seen = { requests: [], dialogs: [], errors: [] };
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(30000);
    page.on("request", (request) => seen.requests.push(request.url()));
    page.on("pageerror", (error) => seen.errors.push(String(error)));
    page.on("dialog", (dialog) => { seen.dialogs.push(dialog.message()); dialog.dismiss(); });
    await page.goto(base + "/requests/new");
    seen.signInPage = new URL(page.url()).pathname;
    await page.type('input[name="user"]', user);
    await page.type('input[name="password"]', password);
    await Promise.all([page.waitForNavigation(), page.click("form.login button")]);
    seen.afterSignIn = new URL(page.url()).pathname;
    await page.evaluate((values) => {
      for (const [name, value] of Object.entries(values)) {
        const field = document.querySelector(`[name="${name}"]`);
        if (field.type === "checkbox") field.checked = value === "true";
        else field.value = field.type === "datetime-local" ? value.slice(0, 16) : value;
      }
    }, fields);
    await Promise.all([page.waitForNavigation(), page.click('button[name="action"][value="check"]')]);
    seen.decision = await page.$eval("section.decision", (e) => e.dataset.decision);
    seen.reasonCodes = await page.$$eval(".reasons li", (items) => items.map((li) => li.dataset.code));
    await Promise.all([page.waitForNavigation(), page.click('button[name="action"][value="save"]')]);
    seen.requestPage = new URL(page.url()).pathname;
    await page.select('select[name="medium"]', "cd");
    await Promise.all([page.waitForNavigation(), page.click("form.export button")]);
    seen.jobPage = new URL(page.url()).pathname;
    // The page follows the job by server-sent events and reloads itself when it ends: poll until the
    // reloaded page shows the job done with its files (a handle would go stale across the reload).
    const deadline = Date.now() + 180000;
    let shown = { state: null, files: [] };
    while (Date.now() < deadline && !(shown.state === "done" && shown.files.length)) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      try {
        shown = await page.evaluate(() => ({
          state: document.querySelector("#job-state") && document.querySelector("#job-state").dataset.state,
          files: [...document.querySelectorAll("a[data-file]")].map((a) => a.getAttribute("href")),
          text: document.querySelector("main") ? document.querySelector("main").innerText : "",
        }));
      } catch (error) {
        shown = { state: null, files: [] };  // in the middle of the reload
      }
    }
    if (shown.state !== "done") throw new Error(`the job page ${page.url()} did not show done: ${shown.text}`);
    seen.files = shown.files;
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(seen));
}

main().catch((error) => { console.error(error && error.stack || String(error)); process.exit(1); });
