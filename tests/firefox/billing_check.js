// The billing office's flow at the desk in Debian's firefox-esr (WebDriver BiDi through puppeteer-core;
// no browser download): sign in through the form, show a period on /billing, follow the Finvoice link,
// credit one line with a reason through its form. Prints one JSON document of what it saw; called by
// tests/test_desk_billing_firefox.py, which compares the file with `billing export` and the credit with
// the home's invoice lines.
//
// The download is the link's own href fetched inside the page (the session's cookie, same origin):
// Firefox under WebDriver BiDi saves an attachment to its download folder without telling puppeteer
// where or when, while a fetch gives the response's bytes and headers as the browser received them.
"use strict";

const puppeteer = require("puppeteer-core");

async function main() {
  const [base, user, password, from, to, lineId, reason, executable] = process.argv.slice(2);
  const browser = await puppeteer.launch({ browser: "firefox", executablePath: executable || "/usr/bin/firefox-esr",
                                           headless: true });
  const seen = { requests: [], dialogs: [], errors: [] };
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(30000);
    page.on("request", (request) => seen.requests.push(request.url()));
    page.on("pageerror", (error) => seen.errors.push(String(error)));
    page.on("dialog", (dialog) => { seen.dialogs.push(dialog.message()); dialog.dismiss(); });
    await page.goto(base + "/billing");
    seen.signInPage = new URL(page.url()).pathname;
    await page.type('input[name="user"]', user);
    await page.type('input[name="password"]', password);
    await Promise.all([page.waitForNavigation(), page.click("form.login button")]);
    seen.afterSignIn = new URL(page.url()).pathname;
    // a date input's value by script: typing into it follows the locale's field order in Firefox
    await page.evaluate((first, last) => {
      document.querySelector("#from").value = first;
      document.querySelector("#to").value = last;
    }, from, to);
    await Promise.all([page.waitForNavigation(), page.click("form.period button")]);
    const shown = new URL(page.url());
    seen.periodPage = shown.pathname + shown.search;
    seen.lines = await page.$$eval("tr[data-line]", (rows) => rows.map((row) => row.dataset.line));
    seen.gross = await page.$eval("#bi-sum [data-gross]", (cell) => cell.dataset.gross);
    seen.warnings = await page.$$eval(".warning", (items) => items.map((p) => p.textContent));
    seen.finvoice = await page.$eval('a[data-format="finvoice"]', async (link) => {
      const answer = await fetch(link.href, { credentials: "same-origin" });
      const bytes = new Uint8Array(await answer.arrayBuffer());
      let binary = "";
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return { href: link.getAttribute("href"), status: answer.status,
               contentType: answer.headers.get("content-type"),
               disposition: answer.headers.get("content-disposition"), base64: btoa(binary) };
    });
    const row = `tr[data-line="${lineId}"]`;
    await page.type(`${row} input[name="reason"]`, reason);
    await Promise.all([page.waitForNavigation(), page.click(`${row} form.credit button`)]);
    const after = new URL(page.url());
    seen.afterCredit = after.pathname + after.search + after.hash;
    seen.credited = await page.$eval(`${row} .credited`, (span) => span.textContent).catch(() => null);
    seen.alert = await page.$eval("#billing-error", (p) => p.textContent).catch(() => null);
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(seen));
}

main().catch((error) => { console.error(error && error.stack || String(error)); process.exit(1); });
