import math

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

    path = atomic_write_json(tmp_path / "x.json", {"v": np.float32(1.5), "arr": np.arange(2), "bad": math.nan, "t": (1, 2)})
    assert json.loads(path.read_text()) == {"v": 1.5, "arr": [0, 1], "bad": "nan", "t": [1, 2]}
