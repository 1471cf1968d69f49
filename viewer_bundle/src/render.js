// Drawing on a plain 2D canvas (no WebGL: it is missing on blocklisted GPUs, virtual machines and
// remote desktops). The image is windowed into an off-screen canvas of its own size, then drawn
// onto the visible canvas with the current zoom and pan.

/** DICOM linear VOI function (PS3.3 C.11.2.1.2), to 0..255; the station's previews use the same. */
export function windowed(value, center, width) {
  const c = center - 0.5;
  const w = Math.max(width, 1) - 1;
  if (value <= c - w / 2) return 0;
  if (value > c + w / 2) return 255;
  return Math.round(((value - c) / Math.max(w, 1e-6) + 0.5) * 255);
}

export class Renderer {
  constructor(canvas) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.buffer = document.createElement("canvas");
    this.image = null;
    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    this.center = 0;
    this.width = 1;
  }

  /** keepView: the zoom and pan stay; keepWindow: the window stays (the user set one), else the
   *  image's own is used: frames of an enhanced object each have their own (functional groups). */
  show(image, keepView, keepWindow) {
    this.image = image;
    if (!keepView) {
      this.zoom = 1;
      this.panX = 0;
      this.panY = 0;
    }
    if (!keepView || !keepWindow || this.width === undefined) {
      this.center = image.center;
      this.width = image.width;
    }
    this.paintBuffer();
    this.draw();
  }

  setWindow(center, width) {
    this.center = center;
    this.width = Math.max(width, 1);
    if (this.image) {
      this.paintBuffer();
      this.draw();
    }
  }

  paintBuffer() {
    const image = this.image;
    if (this.buffer.width !== image.columns) this.buffer.width = image.columns;
    if (this.buffer.height !== image.rows) this.buffer.height = image.rows;
    const context = this.buffer.getContext("2d");
    const out = context.createImageData(image.columns, image.rows);
    const rgba = out.data;
    const values = image.values;
    const pixels = image.rows * image.columns;
    const c = this.center - 0.5;
    const w = Math.max(this.width - 1, 1e-6);
    const low = c - w / 2;
    const high = c + w / 2;
    const scale = 255 / w;
    const offset = (0.5 - c / w) * 255;
    if (image.samples === 3) {
      for (let i = 0, j = 0; i < pixels; i++, j += 3) {
        for (let k = 0; k < 3; k++) {
          const v = values[j + k];
          rgba[i * 4 + k] = v <= low ? 0 : v > high ? 255 : v * scale + offset + 0.5;
        }
        rgba[i * 4 + 3] = 255;
      }
    } else {
      const invert = image.invert;
      for (let i = 0; i < pixels; i++) {
        const v = values[i];
        let g = v <= low ? 0 : v > high ? 255 : v * scale + offset + 0.5;
        if (invert) g = 255 - g;
        const o = i * 4;
        rgba[o] = rgba[o + 1] = rgba[o + 2] = g;
        rgba[o + 3] = 255;
      }
    }
    context.putImageData(out, 0, 0);
  }

  /** Fits the canvas to its box (device pixels) and draws the buffer with zoom and pan. */
  draw() {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const box = canvas.getBoundingClientRect();
    const w = Math.max(1, Math.round(box.width * ratio));
    const h = Math.max(1, Math.round(box.height * ratio));
    if (canvas.width !== w) canvas.width = w;
    if (canvas.height !== h) canvas.height = h;
    const context = this.context;
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.fillStyle = "#000";
    context.fillRect(0, 0, w, h);
    if (!this.image) return;
    const fit = Math.min(w / this.image.columns, h / this.image.rows);
    const scale = fit * this.zoom;
    const dw = this.image.columns * scale;
    const dh = this.image.rows * scale;
    context.imageSmoothingEnabled = scale < 4;
    context.drawImage(this.buffer, (w - dw) / 2 + this.panX * ratio, (h - dh) / 2 + this.panY * ratio, dw, dh);
  }

  drawPreview(img) {
    this.image = null;
    this.draw();
    if (!img || !img.naturalWidth) return;
    const canvas = this.canvas;
    const fit = Math.min(canvas.width / img.naturalWidth, canvas.height / img.naturalHeight);
    const dw = img.naturalWidth * fit;
    const dh = img.naturalHeight * fit;
    this.context.drawImage(img, (canvas.width - dw) / 2, (canvas.height - dh) / 2, dw, dh);
  }

  zoomBy(factor) {
    this.zoom = Math.min(32, Math.max(0.1, this.zoom * factor));
    this.draw();
  }

  panBy(dx, dy) {
    this.panX += dx;
    this.panY += dy;
    this.draw();
  }

  resetView() {
    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    if (this.image) this.setWindow(this.image.defaultCenter, this.image.defaultWidth);
    else this.draw();
  }
}
