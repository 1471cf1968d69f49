"""Disc images written and read back around the page cache (O_DIRECT) where the file system allows.

An image is written once and read back once. Through the page cache each gigabyte takes a
gigabyte of fresh cache pages, which on the station's virtual machines come at ~250 MB/s (first
touch of guest memory), and the read-back then checks the cache's copy instead of the disk's.
Straight to the disk the same gigabyte goes at ~1 GB/s and is read back from the device itself.
A file system without O_DIRECT (tmpfs) gets ordinary buffered I/O and the same results.
"""

from __future__ import annotations

import errno
import hashlib
import mmap
import os
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from mediastation.files import sha256_file

ALIGN = 4096  # O_DIRECT offsets, lengths and buffers: a multiple of the device's block (512 or 4096)
WINDOW = 16 << 20  # the writer's buffer: pycdlib seeks back only within the few MB it just wrote
_ZEROS = bytes(1 << 20)


def _open_direct(path: Path | str, flags: int) -> int | None:
    """An O_DIRECT descriptor, or None where the file system refuses it."""
    direct = getattr(os, "O_DIRECT", 0)
    if not direct:
        return None
    try:
        return os.open(path, flags | direct, 0o644)
    except OSError as exc:
        if exc.errno in (errno.EINVAL, errno.EOPNOTSUPP):
            return None
        raise


class ImageWriter:
    """A write-only binary file for `pycdlib.PyCdlib.write_fp`: bytes gather in an aligned window
    that goes to the disk in order with O_DIRECT; the image's SHA-256 is taken on the way.

    Two windows take turns: while one goes to the disk (and into the digest) in a second thread,
    pycdlib fills the other. The rare write behind the window goes through an ordinary descriptor
    once the disk has what went before (then the digest is read from the file at the end).
    `close()` syncs the file and returns its SHA-256; an error of the disk surfaces at the next
    window or at `close()`."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.direct = _open_direct(self.path, os.O_WRONLY)
        self.window = mmap.mmap(-1, WINDOW)  # page-aligned, zero-filled
        self.spare = mmap.mmap(-1, WINDOW)  # the next window; zeros but its first `spare_used` bytes
        self.spare_used = 0
        self.zeros = memoryview(bytes(WINDOW))  # what clears a window (the kernel's one zero page, read again and again)
        self.base = 0  # file offset of window[0]; everything before it is on disk or on its way
        self.filled = 0  # bytes of the window written so far (from its start)
        self.position = 0
        self.size = 0
        self.digest = hashlib.sha256()
        self.hashed = 0  # the digest covers the file's bytes [0, hashed)
        self.in_order = True
        self.pending: Future[None] | None = None  # the window on its way to the disk
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-write")
        self.hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-hash")

    # -- the file interface pycdlib uses ------------------------------------------------------
    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.position, os.SEEK_END: self.size}[whence]
        self.position = base + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data).cast("B")
        if self.position < self.base:  # behind the window: straight to the file
            behind = min(len(view), self.base - self.position)
            self._write_behind(view[:behind])
            view = view[behind:]
        while view:
            start = self.position - self.base
            if start >= WINDOW:  # beyond the window: out with it, start a new one here
                self._flush(self.filled, jump_to=self.position)
                continue
            if start + len(view) > WINDOW and start >= ALIGN:  # slide: out with what lies before
                self._flush(start - start % ALIGN)
                continue
            room = min(len(view), WINDOW - start)
            self.window[start:start + room] = view[:room]
            self.filled = max(self.filled, start + room)
            self.position += room
            self.size = max(self.size, self.position)
            view = view[room:]
        return len(data)

    def flush(self) -> None:
        """Nothing to do: the window goes out when full and at close()."""

    def close(self) -> str:
        """Write what is left, trim to size, sync; the image's SHA-256."""
        try:
            self._flush(self.filled)
            self._wait()
            os.ftruncate(self.fd, self.size)
            os.fsync(self.fd)
        finally:
            self._close_descriptors()
        if not self.in_order:
            return sha256_file(self.path)
        return self.digest.hexdigest()

    def abort(self) -> None:
        self._close_descriptors()

    # -- internals -----------------------------------------------------------------------------
    def _write_behind(self, view: memoryview) -> None:
        self._wait()  # else the window on its way could land over these bytes
        os.pwrite(self.fd, view, self.position)
        self.in_order = False  # the digest is read from the file instead
        self.position += len(view)
        self.size = max(self.size, self.position)

    def _flush(self, upto: int, *, jump_to: int | None = None) -> None:
        """Send window[0:upto] (padded with zeros to ALIGN) to the disk at `base`, and go on in the
        spare window, starting at `jump_to` (aligned down) or right after what was sent, with the
        bytes beyond `upto`. Past `filled` a window is always zeros."""
        self._wait()  # the spare has gone out: it is free
        spare, used = self.spare, self.spare_used
        if used:
            spare[:used] = self.zeros[:used]
        if jump_to is None:
            rest = max(0, self.filled - upto)
            spare[:rest] = self.window[upto:upto + rest]
            base, filled = self.base + upto, rest
        else:
            base, filled = jump_to - jump_to % ALIGN, 0
        if upto > 0:
            length = -(-upto // ALIGN) * ALIGN
            self.pending = self.writer.submit(self._write_out, self.window, length, self.base, self.size)
        self.window, self.spare, self.spare_used = spare, self.window, self.filled
        self.base, self.filled = base, filled

    def _wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def _write_out(self, window: mmap.mmap, length: int, base: int, size: int) -> None:
        """In the writer thread: window[:length] at `base` on the disk and, at the same time (hashlib
        and the write both let go of the interpreter lock), into the digest up to `size`."""
        with memoryview(window) as whole, whole[:length] as block:
            hashing = self.hasher.submit(self._hash, block, base, size)
            try:
                done = 0
                descriptor = self.direct if self.direct is not None else self.fd
                while done < length:
                    with block[done:] as rest:  # released even when the write fails
                        done += os.pwrite(descriptor, rest, base + done)
            finally:
                hashing.result()

    def _hash(self, block: memoryview, base: int, size: int) -> None:
        while self.hashed < base:  # a gap pycdlib seeked over reads as zeros
            step = min(len(_ZEROS), base - self.hashed)
            self.digest.update(_ZEROS[:step])
            self.hashed += step
        end = min(base + len(block), size)
        if self.hashed == base and end > base:
            self.digest.update(block[:end - base])
            self.hashed = end

    def _close_descriptors(self) -> None:
        self.writer.shutdown(wait=True)  # a window still on its way is written (or fails) first
        for fd in (self.direct, self.fd):
            if fd is not None:
                os.close(fd)
        self.direct = None
        self.hasher.shutdown()
        self.window.close()
        self.spare.close()


def read_chunks(path: Path | str, size: int) -> Iterator[memoryview]:
    """The file from its start in chunks of `size` (a multiple of ALIGN), read from the disk with
    O_DIRECT where possible, one chunk ahead in a second thread (the disk reads while the caller
    compares). A chunk stays valid until two more have been requested (four buffers in turn)."""
    fd = _open_direct(path, os.O_RDONLY)
    if fd is None:
        with open(path, "rb", buffering=0) as plain:
            while chunk := plain.read(size):
                yield memoryview(chunk)
        return
    ahead: queue.Queue[memoryview | BaseException | None] = queue.Queue(maxsize=1)
    stop = threading.Event()
    reader = threading.Thread(target=_read_ahead, args=(fd, size, ahead, stop), name="image-read", daemon=True)
    reader.start()
    try:
        while (item := ahead.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while reader.is_alive():  # let it finish its read and see `stop`
            try:
                ahead.get(timeout=0.1)
            except queue.Empty:
                pass
        os.close(fd)  # the buffers go with the last chunk the caller holds


def _read_ahead(fd: int, size: int, ahead: queue.Queue[memoryview | BaseException | None],
                stop: threading.Event) -> None:
    buffers = [mmap.mmap(-1, size) for _ in range(4)]
    offset, turn = 0, 0
    try:
        while not stop.is_set():
            count = os.preadv(fd, [buffers[turn]], offset)
            if count <= 0:
                break
            ahead.put(memoryview(buffers[turn])[:count])
            offset += count
            turn = (turn + 1) % len(buffers)
            if count < size:
                break
        ahead.put(None)
    except OSError as exc:
        ahead.put(exc)
