// Original DICOM files the user chose with the folder picker or dropped on the page. A page from
// file:// may read them only after such a user action. Files are matched to the manifest by the
// last four parts of their path (PT/ST/SE/IM), whatever folder the user chose and whatever case
// the system shows; loose files without that path are matched by SOP Instance UID.

import { readSopInstanceUid } from "./decode.js";

function pathKey(path) {
  const parts = String(path || "").replace(/\\/g, "/").split("/").filter(Boolean);
  return parts.slice(-4).join("/").toUpperCase();
}

export function readFile(file) {
  return new Promise(function (resolve, reject) {
    const reader = new FileReader();
    reader.onload = function () { resolve(reader.result); };
    reader.onerror = function () { reject(reader.error); };
    reader.readAsArrayBuffer(file);
  });
}

export class FileIndex {
  constructor() {
    this.byPath = new Map();
    this.bySop = new Map();
    this.unread = [];
  }

  get size() {
    return this.byPath.size;
  }

  add(file, path) {
    const key = pathKey(path || file.webkitRelativePath || file.name);
    this.byPath.set(key, file);
    this.unread.push(file);
  }

  /** The file for a manifest image ({dicom, sop}), or null. */
  async find(image) {
    const hit = this.byPath.get(pathKey(image.dicom));
    if (hit) return hit;
    if (this.bySop.has(image.sop)) return this.bySop.get(image.sop);
    while (this.unread.length) {
      const file = this.unread.shift();
      try {
        const sop = readSopInstanceUid(await readFile(file));
        if (sop) this.bySop.set(sop, file);
        if (sop === image.sop) return file;
      } catch (error) {
        // not DICOM (a README, a PDF): ignore
      }
    }
    return null;
  }
}

/** Files of a drop, descending into dropped folders. Calls add(file, path) for each. */
export async function collectDropped(dataTransfer, add) {
  const items = Array.prototype.slice.call(dataTransfer.items || []);
  const entries = items.map(function (item) { return item.webkitGetAsEntry ? item.webkitGetAsEntry() : null; });
  if (!entries.some(Boolean)) {
    Array.prototype.forEach.call(dataTransfer.files || [], function (file) { add(file, file.name); });
    return;
  }
  async function walk(entry) {
    if (!entry) return;
    if (entry.isFile) {
      const file = await new Promise(function (resolve, reject) { entry.file(resolve, reject); });
      add(file, entry.fullPath);
      return;
    }
    const reader = entry.createReader();
    for (;;) {
      const batch = await new Promise(function (resolve, reject) { reader.readEntries(resolve, reject); });
      if (!batch.length) break;
      for (const child of batch) await walk(child);
    }
  }
  for (const entry of entries) await walk(entry);
}
