// Pixel decoding. Two sources give the same decoded image:
//  - the embedded copy the station wrote (IHE_PDI/SEnnnn/DAnnnnn.JS): raw little-endian samples or
//    DICOM RLE made by pydicom, so a dozen lines of JavaScript decode it and no library is needed;
//  - an original DICOM file the user picked or dropped (any transfer syntax): parsed and
//    decompressed by daikon (loaded only then), interpreted by the same code below.
// A decoded image: {rows, columns, samples, values, min, max, center, width, invert}. For
// monochrome images `values` are modality values (rescale applied) in a Float32Array; for colour
// images they are interleaved 8-bit RGB.

export function base64Bytes(text) {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** DICOM RLE Lossless (PS3.5 Annex G) frame -> little-endian interleaved samples. */
export function rleDecode(bytes, pixels, samples, bytesPerSample) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const segments = view.getUint32(0, true);
  const stride = samples * bytesPerSample;
  const out = new Uint8Array(pixels * stride);
  for (let s = 0; s < segments; s++) {
    const start = view.getUint32(4 + 4 * s, true);
    const end = s + 1 < segments ? view.getUint32(8 + 4 * s, true) : bytes.length;
    const sample = Math.floor(s / bytesPerSample);
    const byteInSample = bytesPerSample - 1 - (s % bytesPerSample); // segments run most significant first
    let o = sample * bytesPerSample + byteInSample;
    let written = 0;
    let i = start;
    while (i < end && written < pixels) {
      const n = (bytes[i++] << 24) >> 24;
      if (n >= 0) {
        for (let k = 0; k <= n && written < pixels; k++, written++, o += stride) out[o] = bytes[i++];
      } else if (n !== -128) {
        const value = bytes[i++];
        for (let k = 0; k < 1 - n && written < pixels; k++, written++, o += stride) out[o] = value;
      }
    }
  }
  return out;
}

function finish(image) {
  let min = Infinity;
  let max = -Infinity;
  const values = image.values;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  image.min = min;
  image.max = max;
  if (!(image.width > 0)) {
    image.center = (min + max) / 2;
    image.width = Math.max(max - min, 1);
  }
  image.defaultCenter = image.center;
  image.defaultWidth = image.width;
  return image;
}

/** The station's embedded copy: meta from DISC_DATA plus base64 text. */
export function decodeEmbedded(meta, text) {
  const pixels = meta.rows * meta.columns;
  const bytesPerSample = meta.bits / 8;
  let bytes = base64Bytes(text);
  if (meta.encoding === "rle") bytes = rleDecode(bytes, pixels, meta.samples, bytesPerSample);
  const aligned = bytes.byteOffset === 0 ? bytes.buffer : bytes.slice().buffer;
  const image = {
    rows: meta.rows, columns: meta.columns, samples: meta.samples,
    center: meta.center, width: meta.width,
    invert: meta.photometric === "MONOCHROME1",
    source: "embedded",
  };
  if (meta.samples === 3) {
    image.values = new Uint8Array(aligned, 0, pixels * 3);
    return finish(image);
  }
  let stored;
  if (meta.float) stored = new Float32Array(aligned, 0, pixels);
  else if (meta.bits === 8) stored = meta.signed ? new Int8Array(aligned, 0, pixels) : new Uint8Array(aligned, 0, pixels);
  else stored = meta.signed ? new Int16Array(aligned, 0, pixels) : new Uint16Array(aligned, 0, pixels);
  const slope = meta.slope === undefined ? 1 : meta.slope;
  const intercept = meta.intercept || 0;
  const values = new Float32Array(pixels);
  for (let i = 0; i < pixels; i++) values[i] = stored[i] * slope + intercept;
  image.values = values;
  return finish(image);
}

function ybrToRgb(data) {
  for (let i = 0; i < data.length; i += 3) {
    const y = data[i], cb = data[i + 1] - 128, cr = data[i + 2] - 128;
    data[i] = Math.max(0, Math.min(255, Math.round(y + 1.402 * cr)));
    data[i + 1] = Math.max(0, Math.min(255, Math.round(y - 0.344136 * cb - 0.714136 * cr)));
    data[i + 2] = Math.max(0, Math.min(255, Math.round(y + 1.772 * cb)));
  }
}

function colourFrame(image, raw, frame, pixels) {
  const bytes = new Uint8Array(raw);
  const out = new Uint8Array(pixels * 3);
  const base = frame * pixels * 3;
  const planar = !image.isCompressed() && image.getPlanarConfig() === 1;
  for (let i = 0; i < pixels; i++) {
    for (let c = 0; c < 3; c++) out[i * 3 + c] = planar ? bytes[base + c * pixels + i] : bytes[base + i * 3 + c];
  }
  const photometric = image.getPhotometricInterpretation() || "";
  if (!image.isCompressed() && photometric.indexOf("YBR_FULL") === 0) ybrToRgb(out);
  return out;
}

// Enhanced objects (Enhanced CT/MR/XA/US, Legacy Converted) keep window and rescale in the
// functional groups (PS3.3 C.7.6.16): the frame's item of the Per-frame Functional Groups Sequence
// (5200,9230), else the Shared Functional Groups Sequence (5200,9229); the station's previews and
// embedded copies read the same (mediastation/dicom/multiframe.py).

function findTag(tags, group, element) {
  if (!Array.isArray(tags)) return null;
  for (let i = 0; i < tags.length; i++) {
    if (tags[i] && tags[i].group === group && tags[i].element === element) return tags[i];
  }
  return null;
}

function firstItem(sequence) {
  const items = sequence && Array.isArray(sequence.value) ? sequence.value : [];
  return items[0] && Array.isArray(items[0].value) ? items[0].value : null;
}

function numberIn(tags, group, element) {
  const tag = findTag(tags, group, element);
  const value = tag ? (Array.isArray(tag.value) ? tag.value[0] : tag.value) : null;
  const number = typeof value === "number" ? value : parseFloat(value);
  return isFinite(number) ? number : null;
}

/** {center, width, slope, intercept} of one frame from the functional groups; null where none. */
export function frameGroups(image, frame) {
  const perFrame = image.getTag(0x5200, 0x9230);
  const shared = image.getTag(0x5200, 0x9229);
  const own = perFrame && Array.isArray(perFrame.value) && perFrame.value[frame] ? perFrame.value[frame].value : null;
  const common = firstItem(shared);
  function macro(element) {
    const lists = [own, common];
    for (let i = 0; i < lists.length; i++) {
      const item = firstItem(findTag(lists[i], 0x0028, element));
      if (item) return item;
    }
    return null;
  }
  const voi = macro(0x9132);
  const rescale = macro(0x9145);
  const width = numberIn(voi, 0x0028, 0x1051);
  const center = numberIn(voi, 0x0028, 0x1050);
  const valid = center !== null && width !== null && width >= 1;
  return {
    center: valid ? center : null, width: valid ? width : null,
    slope: numberIn(rescale, 0x0028, 0x1053), intercept: numberIn(rescale, 0x0028, 0x1052),
  };
}

function monochromeFrame(image, raw, frame, pixels, groups) {
  const bitsAllocated = image.getBitsAllocated();
  const bitsStored = image.getBitsStored() || bitsAllocated;
  const signed = image.getPixelRepresentation() === 1;
  const slope = groups.slope || image.getDataScaleSlope() || 1;
  const intercept = groups.intercept !== null ? groups.intercept : image.getDataScaleIntercept() || 0;
  const view = new DataView(raw);
  const size = bitsAllocated / 8;
  const little = image.littleEndian !== false;
  const values = new Float32Array(pixels);
  const bits = Math.min(bitsStored, 31);
  const mask = bitsStored >= 32 ? -1 : (1 << bits) - 1;
  const signBit = bitsStored >= 32 ? 0 : 1 << (bits - 1);
  let offset = frame * pixels * size;
  for (let i = 0; i < pixels; i++, offset += size) {
    let v = size === 1 ? view.getUint8(offset) : size === 2 ? view.getUint16(offset, little) : view.getUint32(offset, little);
    if (bitsStored < 32) {
      v &= mask;
      if (signed && (v & signBit)) v -= mask + 1;
    } else if (signed) {
      v = v | 0;
    }
    values[i] = v * slope + intercept;
  }
  return values;
}

/** An original DICOM file (ArrayBuffer) parsed by daikon, for `decodeParsed`. */
export function parseDicom(buffer) {
  const daikon = window.daikon;
  const image = daikon.Series.parseImage(new DataView(buffer));
  if (!image) throw new Error("not a DICOM file: " + daikon.Series.parserError);
  if (!image.hasPixelData()) throw new Error("no pixel data");
  return image;
}

/** An original DICOM file (ArrayBuffer) through daikon; `frame` counts from 0. */
export function decodeDicom(buffer, frame) {
  return decodeParsed(parseDicom(buffer), frame);
}

/** Frame `frame` (from 0) of a parsed original; daikon decompresses the pixel data once, on the
 *  first call, so further frames of the same image cost only their own conversion. */
export function decodeParsed(image, frame) {
  const rows = image.getRows();
  const columns = image.getCols();
  const pixels = rows * columns;
  const raw = image.getRawData(); // decompressed; palette colour becomes RGB
  const colour = image.getNumberOfSamplesPerPixel() === 3 || image.isPalette();
  const photometric = image.getPhotometricInterpretation() || "MONOCHROME2";
  const groups = frameGroups(image, frame || 0);
  const result = {
    rows: rows, columns: columns, samples: colour ? 3 : 1,
    center: colour ? 127.5 : groups.width !== null ? groups.center : image.getWindowCenter(),
    width: colour ? 256 : groups.width !== null ? groups.width : image.getWindowWidth(),
    invert: photometric === "MONOCHROME1",
    sop: sopInstanceUid(image),
    source: "file",
  };
  result.values = colour ? colourFrame(image, raw, frame || 0, pixels) : monochromeFrame(image, raw, frame || 0, pixels, groups);
  return finish(result);
}

export function sopInstanceUid(image) {
  const tag = image.getTag(0x0008, 0x0018);
  const value = tag && tag.value;
  return String(Array.isArray(value) ? value[0] : value || "").replace(/\0/g, "").trim();
}

/** Only the SOP Instance UID of a file, to match dropped files without their disc path. */
export function readSopInstanceUid(buffer) {
  const image = window.daikon.Series.parseImage(new DataView(buffer));
  return image ? sopInstanceUid(image) : "";
}
