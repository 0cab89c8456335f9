"""The paradigms experiment at toy size, and the pieces its lesson rests on."""

import numpy as np
import pytest

from experiments import paradigms
from sandbox import experiment as ex
from tests.experiments.helpers import run_small as run

TINY = {
    "n_seeds": 2,
    "label_budgets": (10, 60),
    "updates": 40,
    "tabular_steps": 3000,
    "deep_steps": 600,
    "curve_points": 4,
}


def test_paradigms_end_to_end_on_tiny_settings(tmp_path):
    s = run("paradigms", tmp_path, **TINY)
    folder = tmp_path / "paradigms"
    # planning reads the model: the exact success rate of the slippery 8x8 lake's best stationary policy
    assert s["value_iteration_success"] == pytest.approx(0.8857, abs=1e-3)
    for key in ("q_learning_success", "sarsa_success", "policy_gradient_success", "dqn_success"):
        assert 0.0 <= s[key] <= s["value_iteration_success"] + 1e-9  # no learner beats the optimum
    # 60 labels already beat guessing (0.1) by far; 60 right/wrong rewards tell much less than 60 labels
    assert s["digits_softmax_accuracy"] > 0.5 and s["digits_kmeans_accuracy"] > 0.4
    assert s["digits_linucb_accuracy"] < s["digits_mlp_accuracy"]
    needs = (folder / "needs.csv").read_text()
    assert needs.count("\n") == 1 + 5 + 5  # header, five digit learners, five lake learners
    assert "yes (transition table)" in needs
    page = (folder / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 2 and "What each paradigm needed" in page
    assert s["report"] == str(folder / "report.html")
    # the band of each curve is drawn from the seeds' logged means
    assert "digits/LinUCB,60,test_accuracy" in (folder / "metrics.csv").read_text()


def test_tour_settings_are_short_and_valid():
    exp = ex.get("paradigms")
    cfg = ex.make_config(exp, sets=dict(exp.tour))
    default = exp.config()
    assert cfg.tabular_steps * cfg.n_seeds <= default.tabular_steps * default.n_seeds / 5
    assert cfg.deep_steps < default.deep_steps and max(cfg.label_budgets) < max(
        default.label_budgets
    )


def test_bad_settings_are_refused_by_name():
    exp = ex.get("paradigms")
    with pytest.raises(ValueError, match="parts='digits,chess'"):
        ex.make_config(exp, sets={"parts": "digits,chess"})
    with pytest.raises(ValueError, match="must increase"):
        ex.make_config(exp, sets={"label_budgets": (100, 10)})
    with pytest.raises(ValueError, match="only 1257 training digits"):
        paradigms.digits_seed(ex.make_config(exp, sets={"label_budgets": (10, 5000)}), 0)


def test_labels_are_revealed_one_of_each_digit_first():
    d = paradigms.digits_split(0)
    first = d["train_y"][d["order"][:10]]
    assert sorted(first.tolist()) == list(range(10))
    assert sorted(d["order"].tolist()) == list(
        range(len(d["train_y"]))
    )  # every training digit, once


def test_clusters_are_named_by_their_labelled_members():
    clusters = np.array([0, 0, 0, 1, 1, 2])
    labels = np.array([7, 7, 3, 5, 5, 7])
    # cluster 3 has no labelled member: it takes the most common label overall (7)
    assert paradigms.name_clusters(clusters, labels, 4).tolist() == [7, 5, 7, 7]


def test_training_curve_is_the_success_of_recent_episodes():
    returns = np.array([0, 0, 1, 1, 1], dtype=float)
    lengths = np.array([10, 10, 10, 10, 10], dtype=float)  # episodes end at steps 10, 20, ..., 50
    curve = paradigms.training_curve(returns, lengths, budget=50, points=5, window=2)
    assert curve == [[10.0, 0.0], [20.0, 0.0], [30.0, 0.5], [40.0, 1.0], [50.0, 1.0]]
    assert paradigms.training_curve(returns, lengths, budget=10, points=2, window=2)[0] == [
        5.0,
        0.0,
    ]  # none ended yet
