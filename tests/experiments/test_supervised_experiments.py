"""Each supervised experiment end to end on tiny settings: it runs, writes its files, reports sensibly."""

import pytest

from sandbox import experiment as ex
from tests.experiments.helpers import run_small as run


def test_learning_rate_reports_divergence_instead_of_crashing(tmp_path):
    s = run("learning-rate", tmp_path, rates=(0.00001, 0.1, 50.0), epochs=4, n=200, good_loss=0.5)
    assert s["diverged_rates"] == [50.0]
    assert s["too_slow_rates"] == [0.00001]
    assert s["best_rate"] == 0.1
    assert (tmp_path / "learning-rate" / "loss_curves.png").is_file()
    assert "diverged in epoch 1" in (tmp_path / "learning-rate" / "rates.csv").read_text()


def test_overfitting_table_has_every_cure(tmp_path):
    s = run("overfitting", tmp_path, n_train=60, hidden=(64,), epochs=8, patience=1)
    assert len(s["variants"]) == 5
    plain = s["variants"]["too large, no cure"]
    assert plain["gap"] == pytest.approx(plain["test_loss"] - plain["train_loss"])
    assert s["variants"]["early stopping (patience 1)"]["epochs"] <= 8
    for f in ("gap.csv", "overfitting.png", "cures.png"):
        assert (tmp_path / "overfitting" / f).is_file()


def test_playground_tour_settings_learn_the_circle(tmp_path):
    exp = ex.get("playground")
    s = run("playground", tmp_path, **exp.tour)
    assert s["test_accuracy"]["circle"] >= 0.9
    assert (tmp_path / "playground" / "boundary_circle.png").is_file()


def test_digits_pipeline_on_tiny_settings(tmp_path):
    s = run(
        "digits",
        tmp_path,
        members=2,
        epochs=1,
        mlp_epochs=2,
        conv_channels=(4,),
        hidden=(16,),
        augment=False,
    )
    assert set(s["accuracy"]) == {
        "softmax regression",
        "MLP (16,)",
        "conv net",
        "2 conv nets, averaged",
    }
    assert s["test_accuracy"] == max(s["accuracy"].values()) and s["test_accuracy"] > 0.8
    assert s["errors"] == round((1 - s["test_accuracy"]) * 450)
    for f in ("confusion.png", "misclassified.png", "accuracy.csv"):
        assert (tmp_path / "digits" / f).is_file()


def test_houses_network_beats_the_line(tmp_path):
    s = run("houses", tmp_path, n=400, epochs=40, hidden=(32,))
    assert s["r2_mlp"] > s["r2_linear"] > 0.5
    assert (tmp_path / "houses" / "predicted_vs_true.png").is_file()


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="Did you mean 'spiral'"):
        ex.make_config(ex.get("playground"), sets=["datasets=spirals"])
    with pytest.raises(ValueError, match="rates"):
        ex.make_config(ex.get("learning-rate"), sets=["rates=-1"])
