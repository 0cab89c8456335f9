import json
import math
import os
import stat
import tempfile

import pytest

from sandbox.files import atomic_write, atomic_write_json


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "out.json"
    atomic_write_json(path, {"a": 1})

    def half_then_crash(f):
        f.write(b'{"a": ')
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, half_then_crash)
    assert path.read_text() == '{\n  "a": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_json_is_strict_even_for_numpy_and_nan(tmp_path):
    import json

    import numpy as np

    path = atomic_write_json(
        tmp_path / "x.json",
        {"v": np.float32(1.5), "arr": np.arange(2), "bad": math.nan, "t": (1, 2)},
    )
    assert json.loads(path.read_text()) == {"v": 1.5, "arr": [0, 1], "bad": "nan", "t": [1, 2]}


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_new_files_get_the_umask_mode_and_replaced_files_keep_theirs(tmp_path, umask_022):
    path = atomic_write_json(tmp_path / "new.json", {"a": 1})
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    os.umask(0o077)
    assert stat.S_IMODE(atomic_write_json(tmp_path / "private.json", {}).stat().st_mode) == 0o600
    path.chmod(0o664)
    atomic_write_json(path, {"a": 2})
    assert stat.S_IMODE(path.stat().st_mode) == 0o664


def test_a_read_only_file_is_not_replaced(tmp_path):
    path = atomic_write_json(tmp_path / "frozen.json", {"a": 1})
    path.chmod(0o444)
    with pytest.raises(PermissionError, match=r"frozen.json is read-only; .*chmod u\+w"):
        atomic_write_json(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 1}


def test_a_read_only_folder_is_a_clear_error(tmp_path, monkeypatch):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    if (
        os.geteuid() == 0
    ):  # root writes through permission bits: make the folder refuse as it would a user

        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied", str(folder))

        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    try:
        with pytest.raises(
            PermissionError, match=r"cannot write .*x.json: the folder .*locked is not writable"
        ):
            atomic_write_json(folder / "x.json", {})
    finally:
        folder.chmod(0o755)


def test_a_directory_or_a_file_in_the_way_is_a_clear_error(tmp_path):
    (tmp_path / "adir").mkdir()
    with pytest.raises(IsADirectoryError, match=r"adir is a directory; give a file path inside it"):
        atomic_write_json(tmp_path / "adir", {})
    (tmp_path / "afile").write_text("x")
    with pytest.raises(
        NotADirectoryError, match=r"cannot write .*y.json: .*afile is a file, not a folder"
    ):
        atomic_write_json(tmp_path / "afile" / "y.json", {})
