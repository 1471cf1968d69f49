// In-page checks of the multi-frame viewer test, shared by Chromium (tests/test_viewer_multiframe.py
// runs this file in the page) and Firefox (multiframe_check.js passes these functions to puppeteer).
// Each function is self-contained: puppeteer sends its source text to the page.
"use strict";

/** Keys of every series (stack) the manifest lists, in list order. */
function seriesKeys() {
  const keys = [];
  window.DISC_MANIFEST.patients.forEach((p) => p.studies.forEach((s) => s.series.forEach((e) => keys.push(e.key))));
  return keys;
}

/** The viewer has drawn image `index` of the series `key`. */
function renderedIn(key, index) {
  const state = window.__viewer && __viewer.state();
  return !!state && state.status === "rendered" && state.key === key && state.index === index;
}

/** What is on screen: the viewer's state and how many colours the visible canvas shows. */
function shown() {
  const canvas = document.getElementById("image");
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const colours = new Set();
  for (let i = 0; i < data.length; i += 4) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  const state = __viewer.state();
  const pixels = __viewer.currentPixels();
  return {
    key: state.key, series: state.series, index: state.index, count: state.count, center: state.center,
    width: state.width, frameRate: state.frameRate, colours: colours.size,
    overlay: Array.prototype.map.call(document.querySelectorAll(".overlay"), (o) => o.textContent).join(" | "),
    samples: pixels && pixels.samples,
  };
}

/** While a cine plays: how many frames the counter moved on (across the loop's end) in `ms`. */
function measurePlay(ms) {
  return new Promise((resolve) => {
    const first = __viewer.state();
    const count = first.count;
    let last = first.index;
    let advanced = 0;
    const started = performance.now();
    const timer = setInterval(() => {
      const state = __viewer.state();
      advanced += (state.index - last + count) % count;
      last = state.index;
      const elapsed = performance.now() - started;
      if (elapsed >= ms) {
        clearInterval(timer);
        resolve({ advanced: advanced, elapsed: elapsed, playing: state.playing, rate: state.frameRate });
      }
    }, 10);
  });
}

/** Every image of the script-free page has loaded (or failed). */
function imagesLoaded() {
  return Array.prototype.every.call(document.images, (img) => img.complete);
}

/** Per series heading of the script-free page (its id is the series key): its previews drawn. */
function plainPreviews() {
  const out = {};
  Array.prototype.forEach.call(document.querySelectorAll("h4.series"), (heading) => {
    const images = heading.nextElementSibling ? heading.nextElementSibling.querySelectorAll("img") : [];
    out[heading.id] = Array.prototype.filter.call(images, (img) => img.naturalWidth > 0).length;
  });
  return out;
}

module.exports = { seriesKeys, renderedIn, shown, measurePlay, imagesLoaded, plainPreviews };
