"""Checkpoints: a round trip, and every way a file can be wrong."""

import json
import zipfile

import numpy as np
import pytest

from agents import LinearRegressor
from sandbox import learner
from sandbox.data import article_line
from sandbox.errors import CheckpointError, NotFittedError


@pytest.fixture
def fitted():
    x, y = article_line()
    return LinearRegressor(max_iter=30, batch_size=25).fit(x, y[:, 0]), x


def test_round_trip_gives_identical_predictions(tmp_path, fitted):
    model, x = fitted
    path = model.save(tmp_path / "m.npz")
    back = LinearRegressor.load(path)
    np.testing.assert_array_equal(back.act(x), model.act(x))
    assert back.get_params() == model.get_params()
    assert back.history_ == model.history_
    assert type(learner.load(path)) is LinearRegressor


def test_save_before_fit(tmp_path):
    with pytest.raises(NotFittedError, match="before save"):
        LinearRegressor().save(tmp_path / "m.npz")


def test_missing_truncated_and_garbage_files(tmp_path, fitted):
    with pytest.raises(CheckpointError, match="does not exist"):
        LinearRegressor.load(tmp_path / "nope.npz")
    data = fitted[0].save(tmp_path / "m.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        LinearRegressor.load(tmp_path / "cut.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        LinearRegressor.load(tmp_path / "junk.npz")


def _rewrite(path, edit):
    with np.load(path, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    edit(data)
    np.savez(path, **data)


def test_tampered_arrays_and_metadata_fail_the_checksum(tmp_path, fitted):
    path = fitted[0].save(tmp_path / "m.npz")

    def bump(d):
        d["coef"] = d["coef"] + 1.0

    _rewrite(path, bump)
    with pytest.raises(CheckpointError, match="failed its checksum"):
        LinearRegressor.load(path)

    path = fitted[0].save(tmp_path / "m2.npz")

    def edit_meta(d):
        meta = json.loads(d["__meta__"].tobytes())
        meta["params"]["learning_rate"] = 99.0
        d["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)

    _rewrite(path, edit_meta)
    with pytest.raises(CheckpointError, match="failed its checksum"):
        LinearRegressor.load(path)


def test_a_pickled_payload_is_refused_not_run(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, __meta__=np.array([{"format": "x"}], dtype=object))
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        LinearRegressor.load(path)


def test_foreign_npz_and_wrong_class(tmp_path, fitted):
    np.savez(tmp_path / "plain.npz", a=np.ones(3))
    with pytest.raises(CheckpointError, match="was not written by Learner.save"):
        LinearRegressor.load(tmp_path / "plain.npz")

    class Other(learner.Learner):
        def __init__(self, *, seed=0):
            self.seed = seed

    path = fitted[0].save(tmp_path / "m.npz")
    with pytest.raises(CheckpointError, match="holds a LinearRegressor, not a Other"):
        Other.load(path)
    assert zipfile.is_zipfile(path)


def test_repr_shows_changed_hyperparameters():
    assert repr(LinearRegressor(learning_rate=0.5)) == "LinearRegressor(learning_rate=0.5)"


def _forge(path, tmp_path, edit):
    """Rewrite a checkpoint's metadata and give it a valid checksum, as anyone can."""
    with np.load(path, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    meta = json.loads(data.pop("__meta__").tobytes())
    meta.pop("sha256")
    edit(meta)
    meta["sha256"] = learner._digest(meta, data)
    out = tmp_path / "forged.npz"
    np.savez(out, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **data)
    return out


def test_a_checkpoint_naming_a_module_imports_nothing(tmp_path, fitted, monkeypatch):
    (tmp_path / "planted.py").write_text(
        "import pathlib\npathlib.Path(__file__).with_name('RAN').touch()\n"
        "class LinearRegressor2: pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    path = fitted[0].save(tmp_path / "m.npz")
    forged = _forge(path, tmp_path, lambda m: m.update({"class": "planted:LinearRegressor2"}))
    with pytest.raises(
        CheckpointError,
        match=r"names planted:LinearRegressor2, which is not a learner this sandbox "
        r"knows.*nothing was imported",
    ):
        learner.load(forged)
    assert not (tmp_path / "RAN").exists()
    # a known class name under another module is refused too: the whole name must match
    forged = _forge(path, tmp_path, lambda m: m.update({"class": "planted:LinearRegressor"}))
    with pytest.raises(CheckpointError, match="not a learner this sandbox knows"):
        learner.load(forged)
    assert not (tmp_path / "RAN").exists()


@pytest.mark.parametrize("key", ["class", "params", "state"])
def test_metadata_without_a_key_names_it(tmp_path, fitted, key):
    forged = _forge(fitted[0].save(tmp_path / "m.npz"), tmp_path, lambda m: m.pop(key))
    with pytest.raises(CheckpointError, match=f"forged.npz has no '{key}' in its metadata"):
        learner.load(forged)
    with pytest.raises(CheckpointError, match=f"forged.npz has no '{key}' in its metadata"):
        LinearRegressor.load(forged)


def test_a_folder_is_not_reported_as_missing(tmp_path, fitted):
    (tmp_path / "ckpt").mkdir()
    with pytest.raises(CheckpointError, match=r"ckpt is a directory, not a checkpoint file"):
        LinearRegressor.load(tmp_path / "ckpt")
    with pytest.raises(IsADirectoryError, match="is a directory; give a file path inside it"):
        fitted[0].save(tmp_path / "ckpt")
