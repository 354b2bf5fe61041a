"""Files of the on-disk index: plain `.npy` arrays and JSON, each named with its size and checksum.

Nothing here can run code from a file: arrays are read with `allow_pickle=False`
(an object array is refused) and everything else is JSON. What protects against a
damaged file (cut short by a crash, a full disk, a bit flipped) is the checksum:
XXH3-128 (the `xxhash` package) over the whole file, about 15 GB/s here. Any mismatch,
missing file or wrong dtype raises `StoreDamaged`, which callers turn into a rebuild. A
checksum is no signature: whoever can write the cache folder can write a matching one,
which is why the folder is made private (0700) and why nothing in it is ever executed.

What is checked at every open, and what once: every file's size is compared with the
manifest's at every open. Its bytes are hashed in full the first time a process opens it,
and again whenever its identity changes: `VerifiedFiles` remembers (in `verified.json`
beside the manifest) each file hashed in full with its device, inode, size, modification
and change times, and a file with all five as remembered, and the checksum the manifest
expects, is not hashed again. Any write to a file (a crash mid-write, a truncation, a
program flipping a bit, a copy over it) changes its change time (ctime), which no program
can set back, so it is hashed again and caught. Not caught after that first check: a bit
that flips on the disk itself without any write (media decay). A 4 GB index (10M
sentences) would otherwise spend 0.3-1 s of every start hashing pages it never reads.

Writing is atomic: a folder is written under a temporary name, synced, then renamed
into place, so a reader sees it whole or not at all; a single JSON file is written to
a temporary file and renamed over the old one.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
import shutil
import tempfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import orjson
import xxhash

CHECKSUM = "xxh3_128"
_READ_BLOCK = 16 * 1024 * 1024


class StoreDamaged(ValueError):
    """A stored file is missing, cut short, altered or not what it should be."""


def checksum(path: Path) -> str:
    digest = xxhash.xxh3_128()
    with open(path, "rb") as handle:
        while block := handle.read(_READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def describe(path: Path) -> dict[str, Any]:
    """What the manifest records of one file."""
    return {"bytes": path.stat().st_size, CHECKSUM: checksum(path)}


class VerifiedFiles:
    """The files hashed in full, by identity (see the module docstring), kept in one JSON file.

    An entry only ever spares a hash: it counts when the file's identity is the one remembered
    and the checksum remembered is the one the manifest expects. A missing or unreadable
    memory is an empty one (every file is hashed); one that cannot be written is forgotten."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._known: dict[str, list[Any]] = {}
        self._changed = False
        try:
            stored = orjson.loads(path.read_bytes())
            if isinstance(stored, dict):
                self._known = {k: v for k, v in stored.items() if isinstance(v, list) and len(v) == 6}
        except (OSError, ValueError):
            pass  # never written yet, or damaged: hash everything

    @staticmethod
    def _identity(info: os.stat_result) -> list[int]:
        return [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]

    def vouches_for(self, key: str, info: os.stat_result, expected: object) -> bool:
        return self._known.get(key) == [*self._identity(info), expected]

    def remember(self, key: str, info: os.stat_result, found: str) -> None:
        self._known[key] = [*self._identity(info), found]
        self._changed = True

    def save(self) -> None:
        """Write what was learnt, if anything was (entries of files gone are dropped)."""
        if not self._changed:
            return
        try:
            write_json_atomically(self.path, {k: v for k, v in self._known.items() if os.path.exists(k)})
            self._changed = False
        except OSError:
            pass  # a read-only cache folder: the files are hashed again next time, nothing worse


def verify(folder: Path, files: Mapping[str, Any], verified: VerifiedFiles | None = None) -> None:
    """Check that each named file exists with the recorded size and checksum (the checksum
    spared when `verified` vouches for the file, see the module docstring). Raises StoreDamaged."""
    if not isinstance(files, Mapping) or not files:
        raise StoreDamaged(f"{folder}: no files recorded")
    for name, recorded in files.items():
        path = folder / name
        if "/" in name or name.startswith(".") or not isinstance(recorded, Mapping):
            raise StoreDamaged(f"{folder}: bad file entry {name!r}")
        try:
            info = path.stat()
        except OSError as exc:
            raise StoreDamaged(f"{path}: {exc.strerror or exc}") from None
        if info.st_size != recorded.get("bytes"):
            raise StoreDamaged(f"{path}: {info.st_size} bytes, expected {recorded.get('bytes')}")
        key = str(path)
        if verified is not None and verified.vouches_for(key, info, recorded.get(CHECKSUM)):
            continue
        try:
            found = checksum(path)
        except OSError as exc:
            raise StoreDamaged(f"{path}: {exc.strerror or exc}") from None
        if found != recorded.get(CHECKSUM):
            raise StoreDamaged(f"{path}: checksum does not match")
        if verified is not None:
            verified.remember(key, info, found)


def load_array(folder: Path, name: str, dtype: str, ndim: int = 1) -> np.ndarray:
    """A stored array, memory-mapped read-only (shared with every process mapping the same file)."""
    path = folder / f"{name}.npy"
    try:
        if path.stat().st_size == 0:
            raise StoreDamaged(f"{path}: empty")
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except StoreDamaged:
        raise
    except (OSError, ValueError, EOFError) as exc:
        raise StoreDamaged(f"{path}: {exc}") from None
    if array.dtype != np.dtype(dtype) or array.ndim != ndim:
        raise StoreDamaged(f"{path}: {array.dtype} with {array.ndim} dimensions, expected {dtype} with {ndim}")
    if array.size == 0:
        # numpy cannot map an empty array; an empty one needs no sharing anyway.
        return np.zeros(array.shape, dtype=array.dtype)
    return array


def load_json(folder: Path, name: str) -> Any:
    path = folder / name
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise StoreDamaged(f"{path}: {exc}") from None


def save_array(folder: Path, name: str, array: np.ndarray) -> None:
    np.save(folder / f"{name}.npy", np.ascontiguousarray(array), allow_pickle=False)


def _json_bytes(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON, as the standard library's json.dumps(value, ensure_ascii=False,
    separators=(",", ":")) writes it (byte for byte for every file here; a float such as 1e-07 may
    be spelt 1e-7), made by orjson about ten times as fast: the per-file table of 20,000
    articles, which every update writes, took 37 ms against 3 ms here."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


def save_json(folder: Path, name: str, value: Any) -> None:
    (folder / name).write_bytes(_json_bytes(value))


def private_folder(path: Path) -> None:
    """Create `path` (and parents) readable by its owner only; an existing folder is left as it is."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


class FolderWriter:
    """Write a new folder whole: files go into a temporary sibling, `commit()` renames it into place.

        with FolderWriter(parent, "seg-0001") as out:
            save_array(out.path, "texts", ...)
            files = out.commit()     # {name: {"bytes", "xxh3_128"}} of every file written

    Leaving the block without `commit()` (an exception, a full disk) removes the temporary folder.
    """

    def __init__(self, parent: Path, name: str) -> None:
        self.parent = Path(parent)
        self.name = name
        private_folder(self.parent)
        self.path = Path(tempfile.mkdtemp(prefix=f".{name}-", suffix=".tmp", dir=self.parent))
        self.committed = False

    def __enter__(self) -> "FolderWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.committed:
            shutil.rmtree(self.path, ignore_errors=True)

    def commit(self) -> dict[str, dict[str, Any]]:
        paths = sorted(self.path.iterdir())
        # Every file on disk before the folder is renamed into place, as before, but the fsyncs
        # side by side: the filesystem's journal commits them together rather than one by one
        # (a one-article segment's 25 fsyncs took 0.1 s in a row here, on a busy disk).
        with ThreadPoolExecutor(max_workers=min(8, len(paths) or 1), thread_name_prefix="qabot-fsync") as pool:
            list(pool.map(_fsync, paths))
        files = {path.name: describe(path) for path in paths}
        target = self.parent / self.name
        os.rename(self.path, target)  # fails if the name is taken: nothing of anyone's is overwritten
        self.committed = True
        self.path = target
        return files


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def write_json_atomically(path: Path, value: Any) -> None:
    private_folder(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(_json_bytes(value))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)  # readers see the old file or the whole new one, never half
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ArrayAppender:
    """One 1-D `.npy` file written piece by piece, its length given up front, so that an array
    larger than memory can be stored without being held whole (`index.merging`). The file
    is the same as `save_array` of the whole array. Raises ValueError if the pieces do not add
    up to the length."""

    def __init__(self, folder: Path, name: str, dtype: str, length: int) -> None:
        self.dtype = np.dtype(dtype)
        self.left = length
        self.path = folder / f"{name}.npy"
        self._handle = open(self.path, "wb")
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": (length,)}
        np.lib.format.write_array_header_1_0(self._handle, header)

    def append(self, piece: np.ndarray) -> None:
        piece = np.ascontiguousarray(piece, dtype=self.dtype)
        if len(piece) > self.left:
            raise ValueError(f"{self.path}: more entries than the {self.left} left")
        self._handle.write(piece.data)
        self.left -= len(piece)

    def append_file(self, raw: Path) -> None:
        """Append the raw bytes of `raw` (entries of this dtype, end to end)."""
        entries = raw.stat().st_size // self.dtype.itemsize
        if entries > self.left:
            raise ValueError(f"{self.path}: more entries than the {self.left} left")
        with open(raw, "rb") as source:
            shutil.copyfileobj(source, self._handle, _READ_BLOCK)
        self.left -= entries

    def close(self) -> None:
        self._handle.close()
        if self.left:
            raise ValueError(f"{self.path}: {self.left} entries missing")
