// The offline viewer of HUS patient media. Loaded by the medium's INDEX.HTM with a classic <script>
// (no modules, workers, fetch or WebGL: none of them work from file:// in every browser), it reads
// IHE_PDI/MANIFEST.JS, lists the series and shows their images on a 2D canvas. A study's radiology
// reports (PDFs on the medium) are linked next to it and open in the browser's own PDF viewer.
//
// Test hook (documented in the README): window.__viewer.state() and window.__viewer.currentPixels()
// give the state and the decoded values of the image on screen, so browser tests can compare them
// with pydicom's.

import { LANGUAGES, PRESETS, date, personName, pickLanguage, text } from "./i18n.js";
import { loadScript, onDisc, preferredCase, setImageSource, setPreferredCase } from "./loader.js";
import { decodeEmbedded, decodeParsed, parseDicom } from "./decode.js";
import { Renderer } from "./render.js";
import { FileIndex, collectDropped, readFile } from "./files.js";

const MANIFEST = "IHE_PDI/MANIFEST.JS";
const DECODER = "VIEWER/DAIKON.JS";
const CACHE_BYTES = 192 * 1024 * 1024;

const dataScripts = new Map();
window.DISC_DATA = function (key, meta, base64) {
  dataScripts.set(String(key).toUpperCase(), { meta: meta, base64: base64 });
};

const app = {
  manifest: null,
  language: "en",
  series: [],          // flattened: {series, study, patient}
  open: null,          // the entry of `series` on screen
  index: 0,
  status: "list",
  current: null,       // decoded image on screen
  renderedKey: null,   // series key of the image on screen (keeps W/L and zoom while scrolling)
  token: 0,
  cache: new Map(),
  cacheBytes: 0,
  loading: new Map(),
  files: new FileIndex(),
  tool: "window",
  original: null,      // {file, image}: the original DICOM file parsed last (daikon)
  windowSet: false,    // the user set a window (drag or preset): it stays while scrolling
  playing: null,       // {timer, start, from, rate} while a cine plays
  decoder: null,
  renderer: null,
  el: {},
};

function t(key) {
  return text(app.language, key);
}

function make(tag, attributes, children) {
  const element = document.createElement(tag);
  Object.keys(attributes || {}).forEach(function (name) {
    const value = attributes[name];
    if (name === "text") element.textContent = value;
    else if (name.slice(0, 2) === "on") element.addEventListener(name.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) element.setAttribute(name, value);
  });
  (children || []).forEach(function (child) { if (child) element.appendChild(child); });
  return element;
}

function setStatus(status) {
  app.status = status;
  document.body.setAttribute("data-state", status);
}

// ---- start ---------------------------------------------------------------------------------

function start(found) {
  setPreferredCase(found);
  setStatus("loading");
  loadScript(MANIFEST).then(function () {
    if (!window.DISC_MANIFEST) throw new Error("empty manifest");
    begin(window.DISC_MANIFEST);
  }).catch(function (error) {
    setStatus("failed");
    const box = document.getElementById("series-list");
    if (box) box.insertBefore(make("p", { class: "error", text: text("en", "failed") + " (" + error.message + ")" }), box.firstChild);
  });
}

function begin(manifest) {
  app.manifest = manifest;
  app.language = pickLanguage(readStoredLanguage() || manifest.language);
  manifest.patients.forEach(function (patient) {
    patient.studies.forEach(function (study) {
      study.series.forEach(function (series) {
        app.series.push({ series: series, study: study, patient: patient });
      });
    });
  });
  buildPage();
  const wanted = /[#&]open=([^&]+)/.exec(location.hash);
  const first = wanted ? findSeries(decodeURIComponent(wanted[1])) : app.series[0];
  if (first) openSeries(first);
  else setStatus("empty");
}

function findSeries(keyOrUid) {
  return app.series.filter(function (entry) {
    return entry.series.key === keyOrUid || entry.series.uid === keyOrUid;
  })[0] || app.series[0];
}

function readStoredLanguage() {
  try {
    return window.localStorage.getItem("mediastation-viewer-language");
  } catch (error) {
    return null;
  }
}

function setLanguage(language) {
  app.language = pickLanguage(language);
  try {
    window.localStorage.setItem("mediastation-viewer-language", app.language);
  } catch (error) {
    // storage may be off for file:// pages: the choice then lasts for this visit
  }
  document.documentElement.lang = app.language;
  applyTexts();
  buildLanguages();
  buildSeriesList();
  markOpen();
  updateSlider();
  updatePlay();
  updateOverlay();
}

// ---- page ----------------------------------------------------------------------------------

function buildPage() {
  document.documentElement.lang = app.language;
  buildLanguages();
  buildSeriesList();
  buildViewer();
  applyTexts();
}

/** Every element with data-text="key" shows that text in the chosen language. */
function applyTexts() {
  document.title = t("title");
  ["title", "notice"].forEach(function (id) {
    const element = document.getElementById(id);
    if (element) element.setAttribute("data-text", id);
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-text]"), function (element) {
    element.textContent = t(element.getAttribute("data-text"));
  });
}

function buildLanguages() {
  const box = document.getElementById("languages");
  if (!box) return;
  box.textContent = "";
  LANGUAGES.forEach(function (language) {
    box.appendChild(make("button", {
      type: "button", lang: language, "data-language": language, "aria-pressed": String(language === app.language),
      text: text(language, "language"), onclick: function () { setLanguage(language); },
    }));
  });
}

function buildSeriesList() {
  const box = document.getElementById("series-list");
  box.textContent = "";
  app.manifest.patients.forEach(function (patient) {
    const born = patient.birthDate ? t("born") + " " + date(app.language, patient.birthDate) : "";
    const section = make("section", { class: "patient" }, [
      make("h2", { class: "patient-name", text: personName(patient.name) }),
      make("p", { class: "patient-id", text: [patient.id, born].filter(Boolean).join(" · ") }),
    ]);
    patient.studies.forEach(function (study) {
      const list = make("ul", { class: "series" });
      study.series.forEach(function (series) {
        const entry = app.series.filter(function (e) { return e.series === series; })[0];
        list.appendChild(seriesItem(entry));
      });
      section.appendChild(make("div", { class: "study", "data-study": study.uid }, [
        make("h3", { class: "study-title", text: [date(app.language, study.date), study.description].filter(Boolean).join(" ") }),
        reportLinks(study),
        list,
      ]));
    });
    box.appendChild(section);
  });
  if (!app.series.length) box.appendChild(make("p", { class: "empty", text: t("noImages") }));
  const plain = make("a", { class: "plain-list", href: onDisc("IHE_PDI/INDEX.HTM"), text: t("plainList") });
  box.appendChild(make("p", {}, [plain]));
}

/** The study's report PDFs as plain links, in the case the disc shows: the browser's own PDF viewer
 *  opens them in a new tab (a page from file:// may not read a PDF itself). None: nothing shown. */
function reportLinks(study) {
  const reports = study.reports || [];
  if (!reports.length) return null;
  return make("p", { class: "reports" }, reports.map(function (report, i) {
    const label = t("report") + (reports.length > 1 ? " " + (i + 1) : "");
    const title = String(report.title || "").trim();
    return make("a", {
      class: "report-link", href: onDisc(report.path), target: "_blank", rel: "noopener",
      text: title ? label + " – " + title : label,
    });
  }));
}

function seriesItem(entry) {
  const series = entry.series;
  const thumb = make("img", { class: "thumb", alt: "", width: "64", height: "64" });
  if (series.thumb) setImageSource(thumb, series.thumb);
  const meta = [series.modality, series.images.length + " " + t("images")];
  if (!series.embedded) meta.push(t("needsFolder"));
  const item = make("li", {
    class: "series-item", "data-series": series.uid, "data-key": series.key, tabindex: "0", role: "button",
    onclick: function () { openSeries(entry); },
    onkeydown: function (event) { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); openSeries(entry); } },
  }, [
    thumb,
    make("span", { class: "series-text" }, [
      make("span", { class: "series-description", text: series.description || t("series") + " " + (series.number || "") }),
      make("span", { class: "series-meta", text: meta.join(" · ") }),
    ]),
  ]);
  return item;
}

function markOpen() {
  const items = document.querySelectorAll("#series-list .series-item");
  Array.prototype.forEach.call(items, function (item) {
    const open = app.open && item.getAttribute("data-key") === app.open.series.key;
    item.classList.toggle("open", !!open);
    item.setAttribute("aria-current", open ? "true" : "false");
  });
}

function buildViewer() {
  const main = document.getElementById("viewer");
  main.textContent = "";
  main.hidden = false;
  const tools = make("div", { class: "tools", role: "group" }, ["window", "pan", "zoom"].map(function (tool) {
    return make("button", {
      type: "button", "data-tool": tool, "aria-pressed": String(app.tool === tool), "data-text": tool,
      onclick: function () { setTool(tool); },
    });
  }));
  const presets = make("div", { class: "presets", role: "group" }, [make("span", { class: "label", "data-text": "preset" })]
    .concat([{ id: "default", text: "presetDefault" }].concat(PRESETS).map(function (preset) {
      return make("button", {
        type: "button", "data-preset": preset.id, "data-text": preset.text,
        onclick: function () { applyPreset(preset); },
      });
    })));
  const reset = make("button", { type: "button", "data-action": "reset", "data-text": "reset", onclick: resetView });
  const canvas = make("canvas", { id: "image", tabindex: "0" });
  const overlay = ["top-left", "top-right", "bottom-left", "bottom-right"].map(function (corner) {
    return make("div", { class: "overlay " + corner });
  });
  const message = make("div", { class: "message", role: "status" });
  const input = make("input", { type: "file", id: "pick", multiple: "multiple", webkitdirectory: "webkitdirectory", onchange: onPicked });
  const pick = make("div", { class: "pick", hidden: "hidden" }, [
    make("p", { class: "pick-text", "data-text": "pickPrompt" }),
    make("label", { class: "button", for: "pick" }, [make("span", { "data-text": "pickButton" }), input]),
  ]);
  const stage = make("div", { class: "stage" }, [canvas].concat(overlay, [message, pick]));
  const slider = make("input", { type: "range", id: "slider", min: "1", max: "1", value: "1", oninput: onSlider });
  const counter = make("span", { class: "counter" });
  const play = make("button", { type: "button", id: "play", "data-action": "play", "aria-pressed": "false", hidden: "hidden",
    onclick: function () { togglePlay(); } });
  main.appendChild(make("div", { class: "toolbar" }, [tools, presets, reset]));
  main.appendChild(stage);
  main.appendChild(make("div", { class: "footer" }, [play, slider, counter, make("span", { class: "help", "data-text": "help" })]));
  app.el = { canvas: canvas, overlay: overlay, message: message, pick: pick, slider: slider, counter: counter, stage: stage, play: play };
  app.renderer = new Renderer(canvas);
  bindCanvas(canvas);
}

// ---- series and images -----------------------------------------------------------------------

function openSeries(entry) {
  stopPlaying();
  app.open = entry;
  app.index = 0;
  app.windowSet = false;
  markOpen();
  updateSlider();
  updatePlay();
  showImage(0);
  if (app.el.canvas) app.el.canvas.focus({ preventScroll: true });
}

function updateSlider() {
  if (!app.el.slider) return;
  const count = app.open ? app.open.series.images.length : 1;
  app.el.slider.max = String(Math.max(count, 1));
  app.el.slider.value = String(app.index + 1);
  app.el.counter.textContent = t("image") + " " + (app.index + 1) + " / " + count;
}

function step(delta) {
  if (!app.open) return;
  stopPlaying();
  const count = app.open.series.images.length;
  const next = Math.max(0, Math.min(count - 1, app.index + delta));
  if (next !== app.index) showImage(next);
}

function showImage(index) {
  const entry = app.open;
  app.index = index;
  updateSlider();
  updateOverlay();
  const token = ++app.token;
  const image = entry.series.images[index];
  if (!app.cache.has(cacheKey(entry, image))) setStatus("loading");
  // a playing cine keeps its last frame on screen while the next loads: no flashing message
  message(app.cache.has(cacheKey(entry, image)) || app.playing ? "" : t("loading"));
  getImage(entry, image).then(function (decoded) {
    if (token !== app.token) return;
    const keep = app.renderedKey === entry.series.key;
    app.current = decoded;
    app.current.index = index;
    app.current.series = entry.series.uid;
    app.renderedKey = entry.series.key;
    app.renderer.show(decoded, keep, keep && app.windowSet);
    showPickPanel(false);
    message("");
    setStatus("rendered");
    updateOverlay();
    prefetch(entry, index);
  }, function (error) {
    if (token !== app.token) return;
    app.current = null;
    app.renderedKey = null;
    if (error.needsFiles) {
      showPreview(image);
      showPickPanel(true);
      message("");
      setStatus("preview");
    } else {
      app.renderer.drawPreview(null);
      message(error.notFound ? t("notFound") : t("decodeError"));
      setStatus("error");
      if (window.console) console.warn("mediastation viewer:", error);
    }
    updateOverlay();
  });
}

function cacheKey(entry, image) {
  return entry.series.key + "/" + (image.data || image.dicom) + "#" + (image.frame || 0);
}

function getImage(entry, image) {
  const key = cacheKey(entry, image);
  if (app.cache.has(key)) {
    const hit = app.cache.get(key);
    app.cache.delete(key);
    app.cache.set(key, hit);
    return Promise.resolve(hit);
  }
  if (app.loading.has(key)) return app.loading.get(key);
  const promise = (image.data ? loadEmbedded(image) : loadOriginal(image)).then(function (decoded) {
    app.loading.delete(key);
    remember(key, decoded);
    return decoded;
  }, function (error) {
    app.loading.delete(key);
    throw error;
  });
  app.loading.set(key, promise);
  return promise;
}

function remember(key, decoded) {
  app.cache.set(key, decoded);
  app.cacheBytes += decoded.values.byteLength;
  const first = app.cache.keys();
  while (app.cacheBytes > CACHE_BYTES && app.cache.size > 1) {
    const oldest = first.next().value;
    app.cacheBytes -= app.cache.get(oldest).values.byteLength;
    app.cache.delete(oldest);
  }
}

function loadEmbedded(image) {
  const key = image.data.toUpperCase();
  return loadScript(image.data).then(function () {
    const entry = dataScripts.get(key);
    dataScripts.delete(key);
    if (!entry) throw new Error("data script without data: " + image.data);
    return decodeEmbedded(entry.meta, entry.base64);
  });
}

function loadDecoder() {
  if (!app.decoder) {
    app.decoder = window.daikon ? Promise.resolve() : loadScript(DECODER);
  }
  return app.decoder;
}

function loadOriginal(image) {
  if (!app.files.size && !app.files.unread.length) {
    const error = new Error("image data is not embedded");
    error.needsFiles = true;
    return Promise.reject(error);
  }
  return loadDecoder().then(function () {
    return app.files.find(image);
  }).then(function (file) {
    if (!file) {
      const error = new Error("not among the chosen files: " + image.dicom);
      error.notFound = true;
      throw error;
    }
    // the last file read stays parsed (and decompressed, by daikon, once): the next frame of a
    // multi-frame original, a cine loop above all, is not read and decoded again
    if (app.original && app.original.file === file) return app.original.image;
    return readFile(file).then(function (buffer) {
      const parsed = parseDicom(buffer);
      app.original = { file: file, image: parsed };
      return parsed;
    });
  }).then(function (parsed) {
    return decodeParsed(parsed, image.frame || 0);
  });
}

function prefetch(entry, index) {
  const images = entry.series.images;
  // a playing cine reads further ahead, round the loop's end
  const wanted = (app.playing ? [1, 2, 3, 4, 5, 6].map(function (d) { return (index + d) % images.length; })
    : [index + 1, index + 2, index - 1]).filter(function (i) { return i >= 0 && i < images.length && i !== index; });
  let chain = Promise.resolve();
  wanted.forEach(function (i) {
    chain = chain.then(function () {
      if (app.open !== entry || !images[i].data) return null;
      return getImage(entry, images[i]).catch(function () { return null; });
    });
  });
}

function showPreview(image) {
  if (!image.preview) {
    app.renderer.drawPreview(null);
    return;
  }
  const img = new Image();
  img.onload = function () {
    if (app.status === "preview") app.renderer.drawPreview(img);
  };
  setImageSource(img, image.preview);
}

function showPickPanel(show) {
  app.el.pick.hidden = !show;
}

function message(value) {
  app.el.message.textContent = value;
  app.el.message.hidden = !value;
}

function onPicked(event) {
  Array.prototype.forEach.call(event.target.files || [], function (file) { app.files.add(file); });
  app.cache.clear();
  app.cacheBytes = 0;
  app.original = null;
  if (app.open) showImage(app.index);
}

function onDrop(event) {
  event.preventDefault();
  collectDropped(event.dataTransfer, function (file, path) { app.files.add(file, path); }).then(function () {
    if (app.open) showImage(app.index);
  });
}

// ---- cine --------------------------------------------------------------------------------------
// A multi-frame image with a frame rate (Recommended Display Frame Rate, Cine Rate, Frame Time or
// Frame Time Vector; the station puts it in the manifest as frameRate) plays in a loop at that
// rate. The frame shown follows the clock, not the loading: on a slow disc frames are skipped, the
// pace stays the recorded one. Stepping (wheel, keys, slider) pauses.

function frameRate() {
  const series = app.open && app.open.series;
  return series && series.frameRate > 0 && series.images.length > 1 ? series.frameRate : 0;
}

function updatePlay() {
  const button = app.el.play;
  if (!button) return;
  button.hidden = !frameRate();
  button.textContent = t(app.playing ? "pause" : "play");
  button.setAttribute("aria-pressed", String(!!app.playing));
}

function togglePlay() {
  if (app.playing) stopPlaying();
  else startPlaying();
}

function startPlaying() {
  const rate = frameRate();
  if (!rate || app.playing) return;
  const count = app.open.series.images.length;
  const playing = { start: performance.now(), from: app.index, rate: rate, timer: 0 };
  playing.timer = window.setInterval(function () {
    if (app.playing !== playing) return;
    const ticks = Math.floor((performance.now() - playing.start) * playing.rate / 1000);
    const next = (playing.from + ticks) % count;
    if (next !== app.index) showImage(next);
  }, Math.max(4, Math.min(1000 / rate / 4, 40)));
  app.playing = playing;
  updatePlay();
  updateOverlay();
}

function stopPlaying() {
  if (!app.playing) return;
  window.clearInterval(app.playing.timer);
  app.playing = null;
  updatePlay();
  updateOverlay();
}

// ---- overlay ---------------------------------------------------------------------------------

function updateOverlay() {
  if (!app.open || !app.el.overlay) return;
  const entry = app.open;
  const patient = entry.patient;
  const study = entry.study;
  const series = entry.series;
  const lines = [
    [personName(patient.name), patient.id, patient.birthDate ? t("born") + " " + date(app.language, patient.birthDate) : ""],
    [date(app.language, study.date), study.description, study.accession],
    [t("series") + " " + (series.number || "") + ": " + (series.description || "") + (series.stack ? " [" + series.stack + "]" : ""),
      series.modality, t("image") + " " + (app.index + 1) + " / " + series.images.length,
      frameRate() ? (Math.round(frameRate() * 10) / 10) + " " + t("fps") : ""],
    app.current
      ? ["L " + Math.round(app.renderer.center) + "  W " + Math.round(app.renderer.width), t("zoom") + " " + Math.round(app.renderer.zoom * 100) + " %"]
      : [app.status === "preview" ? t("previewOnly") : ""],
  ];
  app.el.overlay.forEach(function (box, i) {
    box.textContent = "";
    lines[i].filter(Boolean).forEach(function (line) { box.appendChild(make("div", { text: line })); });
  });
}

// ---- interaction -------------------------------------------------------------------------------

function setTool(tool) {
  app.tool = tool;
  Array.prototype.forEach.call(document.querySelectorAll("[data-tool]"), function (button) {
    button.setAttribute("aria-pressed", String(button.getAttribute("data-tool") === tool));
  });
}

function applyPreset(preset) {
  if (!app.current) return;
  app.windowSet = preset.id !== "default";
  if (preset.id === "default") app.renderer.setWindow(app.current.defaultCenter, app.current.defaultWidth);
  else app.renderer.setWindow(preset.center, preset.width);
  updateOverlay();
}

function resetView() {
  app.windowSet = false;
  app.renderer.resetView();
  updateOverlay();
}

function onSlider() {
  stopPlaying();
  const index = Number(app.el.slider.value) - 1;
  if (app.open && index !== app.index) showImage(index);
}

function bindCanvas(canvas) {
  let drag = null;
  canvas.addEventListener("pointerdown", function (event) {
    const tool = event.button === 1 ? "pan" : event.button === 2 ? "zoom" : app.tool;
    drag = { x: event.clientX, y: event.clientY, tool: tool, id: event.pointerId };
    canvas.setPointerCapture(event.pointerId);
    event.preventDefault();
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!drag || event.pointerId !== drag.id || !app.current) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    drag.x = event.clientX;
    drag.y = event.clientY;
    if (drag.tool === "window") {
      const range = app.current.max - app.current.min;
      const speed = Math.max(range / 1024, 0.1);
      app.windowSet = true;
      app.renderer.setWindow(app.renderer.center + dy * speed, app.renderer.width + dx * speed);
    } else if (drag.tool === "pan") {
      app.renderer.panBy(dx, dy);
    } else {
      app.renderer.zoomBy(Math.exp(-dy / 200));
    }
    updateOverlay();
  });
  function end(event) {
    if (drag && event.pointerId === drag.id) drag = null;
  }
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  canvas.addEventListener("contextmenu", function (event) { event.preventDefault(); });
  let wheel = 0;
  canvas.addEventListener("wheel", function (event) {
    event.preventDefault();
    const delta = event.deltaMode === 1 ? event.deltaY * 40 : event.deltaMode === 2 ? event.deltaY * 400 : event.deltaY;
    if (event.ctrlKey) {
      app.renderer.zoomBy(Math.exp(-delta / 500));
      updateOverlay();
      return;
    }
    wheel += delta;
    while (Math.abs(wheel) >= 40) {
      step(wheel > 0 ? 1 : -1);
      wheel -= wheel > 0 ? 40 : -40;
    }
  }, { passive: false });
}

function onKey(event) {
  const target = event.target;
  if (target && (target.id === "slider" || target.tagName === "INPUT" || target.tagName === "SELECT")) return;
  if (!app.open) return;
  if (event.key === " " || event.key === "Spacebar") {
    // a focused button or series item answers Space itself (its click); elsewhere it plays a cine
    if (!frameRate() || (target && (target.tagName === "BUTTON" || target.getAttribute("role") === "button"))) return;
    togglePlay();
    event.preventDefault();
    return;
  }
  const count = app.open.series.images.length;
  const moves = { ArrowDown: 1, ArrowRight: 1, PageDown: 10, ArrowUp: -1, ArrowLeft: -1, PageUp: -10 };
  if (event.key in moves) {
    step(moves[event.key]);
  } else if (event.key === "Home") {
    stopPlaying();
    showImage(0);
  } else if (event.key === "End") {
    stopPlaying();
    showImage(count - 1);
  } else if (event.key === "+" || event.key === "=") {
    app.renderer.zoomBy(1.25);
    updateOverlay();
  } else if (event.key === "-") {
    app.renderer.zoomBy(0.8);
    updateOverlay();
  } else {
    return;
  }
  event.preventDefault();
}

document.addEventListener("keydown", onKey);
document.addEventListener("dragover", function (event) { event.preventDefault(); });
document.addEventListener("drop", onDrop);
window.addEventListener("resize", function () {
  if (app.renderer && app.current) app.renderer.draw();
});

// ---- public ----------------------------------------------------------------------------------

window.DISC_VIEWER = { start: start };

window.__viewer = {
  /** Where the viewer is: status is list|loading|rendered|preview|error|failed|empty. */
  state: function () {
    const series = app.open ? app.open.series : null;
    return {
      status: app.status,
      series: series ? series.uid : null,
      key: series ? series.key : null,
      index: app.index,
      count: series ? series.images.length : 0,
      embedded: series ? !!series.embedded : null,
      center: app.renderer ? app.renderer.center : null,
      width: app.renderer ? app.renderer.width : null,
      zoom: app.renderer ? app.renderer.zoom : null,
      language: app.language,
      nameCase: preferredCase(),
      frameRate: frameRate() || null,
      playing: !!app.playing,
    };
  },
  /** The decoded image on screen: modality values (colour: RGB bytes), row by row. */
  currentPixels: function () {
    const image = app.current;
    if (!image) return null;
    return {
      rows: image.rows, columns: image.columns, samples: image.samples, index: image.index,
      series: image.series, source: image.source, values: Array.prototype.slice.call(image.values),
    };
  },
  open: function (keyOrUid) { openSeries(findSeries(keyOrUid)); },
  show: function (index) { showImage(index); },
  play: startPlaying,
  pause: stopPlaying,
  setLanguage: setLanguage,
};
