"""The image writer and reader around the page cache (media/direct_io.py): whatever order of seeks
and writes, the file and its SHA-256 are those of an ordinary file written the same way; an ISO
built through it is byte for byte pycdlib's own; reading back gives the file's bytes."""

from __future__ import annotations

import hashlib
import os
import random
import threading
from pathlib import Path

import pycdlib
import pytest

from mediastation.media import direct_io
from mediastation.media.direct_io import ImageWriter, read_chunks
from mediastation.media.iso import CHUNK, _add, _entries, _in_extent_order, build_iso


def _replay(path: Path, operations: list[tuple[int, bytes]]) -> str:
    writer = ImageWriter(path)
    for offset, data in operations:
        writer.seek(offset)
        writer.write(data)
    return writer.close()


def _plain(path: Path, operations: list[tuple[int, bytes]]) -> bytes:
    with open(path, "wb") as out:
        for offset, data in operations:
            out.seek(offset)
            out.write(data)
    return path.read_bytes()


@pytest.mark.parametrize("seed", range(40))
def test_any_order_of_writes_gives_the_plain_file_and_its_digest(tmp_path: Path, seed: int,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(direct_io, "WINDOW", 64 << 10)  # small, so that the window slides and jumps
    rnd = random.Random(seed)
    operations, position = [], 0
    for _ in range(rnd.randint(1, 50)):
        roll = rnd.random()
        if roll < 0.15:
            position = rnd.randint(0, position + 3 * 65536)  # back (maybe behind the window) or ahead
        elif roll < 0.25:
            position += rnd.randint(0, 200_000)  # a gap that must read as zeros
        data = rnd.randbytes(rnd.choice([1, 7, 2048, 4096, 10_000, 65_536, 150_000]))
        operations.append((position, data))
        position += len(data)
    digest = _replay(tmp_path / "direct.img", operations)
    expected = _plain(tmp_path / "plain.img", operations)
    assert (tmp_path / "direct.img").read_bytes() == expected
    assert digest == hashlib.sha256(expected).hexdigest()


def test_an_iso_through_the_writer_is_pycdlibs_own_image(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    for n, folder in enumerate(["DICOM/ST1/SE1", "DICOM/ST1/SE2", "VIEWER"]):
        (tree / folder).mkdir(parents=True)
        for m in range(5):
            (tree / folder / f"IM{m}").write_bytes(os.urandom(1000 + 70_000 * m + n))
    (tree / "README.TXT").write_text("hello")
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=1, joliet=3, vol_ident="REF")
    for relative, is_dir in _entries(tree):
        _add(iso, tree, relative, is_dir)
    try:
        with open(tmp_path / "plain.iso", "wb") as out:
            iso.write_fp(out, blocksize=CHUNK)
        _in_extent_order(iso)
        writer = ImageWriter(tmp_path / "direct.iso")
        iso.write_fp(writer, blocksize=CHUNK)
        digest = writer.close()
    finally:
        iso.close()
    plain = (tmp_path / "plain.iso").read_bytes()
    assert (tmp_path / "direct.iso").read_bytes() == plain
    assert digest == hashlib.sha256(plain).hexdigest()
    image = build_iso(tree, tmp_path / "built.iso", volume_id="REF")  # the same way, as the export does
    assert image.sha256 == hashlib.sha256((tmp_path / "built.iso").read_bytes()).hexdigest()


@pytest.mark.parametrize("size", [0, 1, 4096, 4097, 3 * 8192 + 2048])
def test_reading_back_gives_the_files_bytes(tmp_path: Path, size: int) -> None:
    path = tmp_path / "image"
    content = os.urandom(size)
    path.write_bytes(content)
    chunks = [bytes(chunk) for chunk in read_chunks(path, 8192)]
    assert b"".join(chunks) == content
    assert all(len(chunk) == 8192 for chunk in chunks[:-1])


def test_a_reader_stopped_early_lets_go_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "image"
    path.write_bytes(os.urandom(10 * 8192))
    before = set(os.listdir("/proc/self/fd"))
    chunks = read_chunks(path, 8192)
    first = bytes(next(chunks))
    chunks.close()  # the caller found a difference and stops reading
    assert first == path.read_bytes()[:8192]
    assert set(os.listdir("/proc/self/fd")) <= before  # no descriptor left open
    assert not any(t.name == "image-read" and t.is_alive() for t in threading.enumerate())  # nor a reader


def test_without_o_direct_the_same_bytes_come_through_the_page_cache(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(direct_io, "_open_direct", lambda _path, _flags: None)  # as on tmpfs
    operations = [(0, b"a" * 5000), (70_000, b"b" * 3000), (100, b"c" * 10)]
    digest = _replay(tmp_path / "x.img", operations)
    expected = _plain(tmp_path / "y.img", operations)
    assert (tmp_path / "x.img").read_bytes() == expected and digest == hashlib.sha256(expected).hexdigest()
    assert b"".join(bytes(c) for c in read_chunks(tmp_path / "x.img", 4096)) == expected


def test_a_disk_error_while_a_window_goes_out_surfaces_and_leaves_no_thread(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(direct_io, "WINDOW", 64 << 10)
    writer = ImageWriter(tmp_path / "full.img")
    real_pwrite = os.pwrite

    def disc_full(fd: int, data: object, offset: int) -> int:
        if offset >= 64 << 10:
            raise OSError(28, "No space left on device")
        return real_pwrite(fd, data, offset)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "pwrite", disc_full)
    with pytest.raises(OSError, match="No space left"):
        for _ in range(8):  # the second window fails in the writer thread; a later write or close says so
            writer.write(os.urandom(40_000))
        writer.close()
    writer.abort()
    assert not [t for t in threading.enumerate() if t.name.startswith(("image-write", "image-hash"))]
