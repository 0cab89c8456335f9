"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Every result, plot and checkpoint the sandbox writes goes through here, so an
interrupted run never leaves a truncated ``summary.json`` or checkpoint behind.
"""

from __future__ import annotations

import json
import math
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(fileobj)`` on a temporary file beside ``path``, then rename it over ``path``.

    A new file gets the mode the user's umask gives (``0o666 & ~umask``, as ``open`` would); a
    replaced file keeps its mode. A read-only file is not replaced, and a path that is a folder,
    or a folder that cannot be written, is a clear error naming the path.
    """
    path = Path(path)
    mode = _target_mode(path)
    fd, tmp = _make_temp(path)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def _target_mode(path: Path) -> int:
    """The mode the written file gets; refuses a folder and a read-only file."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return 0o666 & ~_umask()
    except NotADirectoryError:
        return 0o666 & ~_umask()  # a parent is a file; _make_temp says which
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(
            f"{path} is a directory; give a file path inside it, e.g. {path / 'name'}."
        )
    if not st.st_mode & 0o222:
        raise PermissionError(
            f"{path} is read-only; it is not replaced. Write elsewhere, or make it writable (chmod u+w {path})."
        )
    return stat.S_IMODE(st.st_mode)


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def _make_temp(path: Path) -> tuple[int, str]:
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except PermissionError:
        raise PermissionError(
            f"cannot write {path}: the folder {folder} is not writable."
        ) from None
    except (FileExistsError, NotADirectoryError):
        blocker = next(
            (p for p in [folder, *folder.parents] if p.exists() and not p.is_dir()), folder
        )
        raise NotADirectoryError(
            f"cannot write {path}: {blocker} is a file, not a folder."
        ) from None


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def to_jsonable(value: Any) -> Any:
    """Turn numpy/torch scalars, arrays, tuples and paths into plain JSON values.

    Non-finite floats become the strings ``"nan"``, ``"inf"``, ``"-inf"`` so the
    file stays strict JSON.
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return str(value)
    if hasattr(value, "tolist") and not isinstance(value, str | bytes):
        return to_jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n")
