// The importer's flow at the desk in Debian's firefox-esr (WebDriver BiDi through puppeteer-core; no
// browser download): sign in, upload an ISO on /imports/new, map the group whose name is given to a
// HETU (with a name), leave the others out, prefer the first copy of each conflict, import, wait on
// the job page until it is done, open the scan page again. Prints one JSON document of what it saw;
// called by tests/test_desk_import.py, which asserts on it.
"use strict";

const puppeteer = require("puppeteer-core");

async function main() {
  const [base, user, password, iso, keptName, hetu, localName, executable] = process.argv.slice(2);
  const browser = await puppeteer.launch({ browser: "firefox", executablePath: executable || "/usr/bin/firefox-esr",
                                           headless: true });
  const seen = { requests: [], dialogs: [], errors: [] };
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(30000);
    page.on("request", (request) => seen.requests.push(request.url()));
    page.on("pageerror", (error) => seen.errors.push(String(error)));
    page.on("dialog", (dialog) => { seen.dialogs.push(dialog.message()); dialog.dismiss(); });
    await page.goto(base + "/imports/new");
    await page.type('input[name="user"]', user);
    await page.type('input[name="password"]', password);
    await Promise.all([page.waitForNavigation(), page.click("form.login button")]);
    seen.afterSignIn = new URL(page.url()).pathname;
    const file = await page.$("#import-file");
    await file.uploadFile(iso);
    await Promise.all([page.waitForNavigation(), page.click("form.import-upload button")]);
    seen.scanPage = new URL(page.url()).pathname;
    seen.groups = await page.$$eval("section.group", (sections) => sections.map((s) => ({
      key: s.dataset.group, name: s.querySelector(".patient-name").textContent,
      pictures: [...s.querySelectorAll("img")].filter((img) => img.complete && img.naturalWidth > 0).length,
    })));
    for (const group of seen.groups) {
      if (group.name === keptName) {
        await page.type(`input[name="hetu.${group.key}"]`, hetu);
        await page.type(`input[name="name.${group.key}"]`, localName);
      } else {
        await page.click(`#use-${group.key}-skip`);
      }
    }
    await page.$$eval("fieldset[data-conflict]", (sets) => sets.forEach((set) => {
      set.querySelectorAll('input[type="radio"]')[1].checked = true;  // the first copy listed
    }));
    await Promise.all([page.waitForNavigation(), page.click('button[name="action"][value="run"]')]);
    seen.jobPage = new URL(page.url()).pathname;
    const deadline = Date.now() + 180000;
    let state = null;
    while (Date.now() < deadline && state !== "done" && state !== "failed") {
      await new Promise((resolve) => setTimeout(resolve, 500));
      try {
        state = await page.evaluate(() => document.querySelector("#job-state") &&
                                          document.querySelector("#job-state").dataset.state);
      } catch (error) {
        state = null;  // in the middle of the page's reload
      }
    }
    seen.jobState = state;
    await page.goto(base + seen.scanPage);
    seen.receipt = await page.$eval('a[data-file="receipt.pdf"]', (a) => a.getAttribute("href")).catch(() => null);
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(seen));
}

main().catch((error) => { console.error(error && error.stack || String(error)); process.exit(1); });
