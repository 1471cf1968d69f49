// Loading from a disc opened as file://: only classic <script> and <img> elements may read
// sibling files (fetch, XHR, workers and ES modules are blocked by every browser). An ISO 9660 disc
// shows its names upper-case on Windows and macOS and lower-case on some Linux mounts, so every
// path is tried in the case that worked for VIEWER.JS first, then in the other case.

let preferred = "upper";

export function setPreferredCase(found) {
  preferred = found === "lower" ? "lower" : "upper";
}

export function preferredCase() {
  return preferred;
}

/** A path on the medium (as written, upper-case) in the case the browser found. */
export function onDisc(path) {
  return preferred === "lower" ? path.toLowerCase() : path.toUpperCase();
}

function variants(path) {
  const lower = path.toLowerCase();
  const upper = path.toUpperCase();
  return preferred === "lower" ? [lower, upper] : [upper, lower];
}

function insertScript(src, onload, onerror) {
  const element = document.createElement("script");
  element.src = src;
  element.async = true;
  element.onload = function () {
    element.parentNode.removeChild(element); // the source text is not needed once it ran
    onload();
  };
  element.onerror = function () {
    element.parentNode.removeChild(element);
    onerror();
  };
  document.head.appendChild(element);
}

/** Runs a script from the medium; resolves once it ran, rejects if neither case exists. */
export function loadScript(path) {
  const tries = variants(path);
  return new Promise(function (resolve, reject) {
    function attempt(i) {
      if (i >= tries.length) {
        reject(new Error("not on the medium: " + path));
        return;
      }
      insertScript(tries[i], function () {
        if (i > 0) preferred = preferred === "lower" ? "upper" : "lower";
        resolve();
      }, function () {
        attempt(i + 1);
      });
    }
    attempt(0);
  });
}

/** Sets an <img> source with the same two-case fallback. */
export function setImageSource(img, path) {
  const tries = variants(path);
  let i = 0;
  img.onerror = function () {
    i += 1;
    if (i < tries.length) img.src = tries[i];
    else img.onerror = null;
  };
  img.src = tries[0];
}
