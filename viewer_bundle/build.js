// Reproducible build of the viewer that goes on every medium: `npm ci && npm run build`.
// Writes VIEWER/{VIEWER.JS,VIEWER.CSS,DAIKON.JS,LICENSES.TXT} and VIEWER.SHA256 (sha256sum format).
// The outputs are committed, so the station installs without npm; tests rebuild and compare.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const esbuild = require("esbuild");

const HERE = __dirname;
const OUT = path.join(HERE, "VIEWER");
process.chdir(HERE); // esbuild writes paths relative to the working folder into its output

async function buildDaikon() {
  // daikon's published daikon-min.js is a CommonJS build that sets no browser global: rebundle
  // its sources as a classic script defining `daikon`.
  const result = await esbuild.build({
    entryPoints: ["node_modules/daikon/src/main.js"],
    bundle: true, format: "iife", globalName: "daikon", minify: true, platform: "browser",
    external: ["fs", "path"], legalComments: "eof", metafile: true, logLevel: "warning",
    outfile: path.join(OUT, "DAIKON.JS"),
  });
  return result.metafile;
}

async function buildViewer() {
  await esbuild.build({
    entryPoints: ["src/viewer.js"],
    bundle: true, format: "iife", platform: "browser", target: ["es2017"], logLevel: "warning",
    banner: { js: "/* HUS media station offline viewer. Sources: viewer_bundle/src; built by viewer_bundle/build.js. */" },
    outfile: path.join(OUT, "VIEWER.JS"),
  });
  fs.copyFileSync(path.join(HERE, "src", "viewer.css"), path.join(OUT, "VIEWER.CSS"));
}

function packageOf(input) {
  const parts = input.split("/");
  const at = parts.lastIndexOf("node_modules");
  if (at < 0) return null;
  const name = parts[at + 1].startsWith("@") ? parts[at + 1] + "/" + parts[at + 2] : parts[at + 1];
  return { name: name, dir: parts.slice(0, at + 1).join("/") + "/" + name };
}

function leadingComments(file) {
  const source = fs.readFileSync(file, "utf8");
  const comments = [];
  const pattern = /^\s*(\/\*[\s\S]*?\*\/|(?:\/\/[^\n]*\n)+)/;
  let rest = source;
  for (;;) {
    const match = pattern.exec(rest);
    if (!match) break;
    comments.push(match[1].trim());
    rest = rest.slice(match[0].length);
  }
  return comments.filter((c) => /copyright|licen[cs]e/i.test(c)).join("\n\n");
}

function licences(metafile) {
  const rule = "=".repeat(100);
  const sections = [
    "Third-party software in the viewer of this medium (folder VIEWER)\n" +
    "Kolmannen osapuolen ohjelmistot tämän tallenteen katseluohjelmassa (kansio VIEWER)\n" +
    "Programvara från tredje part i visaren på detta medium (mappen VIEWER)\n\n" +
    "VIEWER.JS and VIEWER.CSS are the HUS media station's own viewer. DAIKON.JS bundles the packages\n" +
    "below, unmodified, built with esbuild; their licence texts follow.",
  ];
  const packages = new Map();
  const notices = [];
  for (const input of Object.keys(metafile.inputs).sort()) {
    const pkg = packageOf(input);
    if (!pkg) continue;
    if (!packages.has(pkg.name)) packages.set(pkg.name, pkg.dir);
    if (input.includes("/lib/")) {
      const comment = leadingComments(input);
      if (comment) notices.push("-- " + input.replace(/^node_modules\//, "") + "\n\n" + comment);
    }
  }
  for (const [name, dir] of packages) {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    const licenceFile = fs.readdirSync(dir).sort().find((f) => /^(licen[cs]e|copying)/i.test(f));
    const body = licenceFile ? fs.readFileSync(path.join(dir, licenceFile), "utf8").trim() : "(no licence file in the package)";
    sections.push(`${name} ${meta.version} (package licence field: ${meta.license || "none"})\n\n${body}`);
  }
  if (notices.length) sections.push("Notices of code that daikon includes in its own folder lib/\n\n" + notices.join("\n\n"));
  sections.push("Apache License 2.0 (for the pdf.js JPEG and JPEG 2000 decoders above)\n\n" +
    fs.readFileSync(path.join(HERE, "licenses", "Apache-2.0.txt"), "utf8").trim());
  const text = sections.join("\n\n" + rule + "\n\n") + "\n";
  fs.writeFileSync(path.join(OUT, "LICENSES.TXT"), text.replace(/\r?\n/g, "\r\n")); // readable in Notepad too
}

function manifest() {
  const lines = fs.readdirSync(OUT).sort().map((name) => {
    const digest = crypto.createHash("sha256").update(fs.readFileSync(path.join(OUT, name))).digest("hex");
    return `${digest}  VIEWER/${name}\n`;
  });
  fs.writeFileSync(path.join(HERE, "VIEWER.SHA256"), lines.join(""));
}

async function main() {
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT);
  const metafile = await buildDaikon();
  await buildViewer();
  licences(metafile);
  manifest();
  process.stdout.write(fs.readFileSync(path.join(HERE, "VIEWER.SHA256"), "utf8"));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
