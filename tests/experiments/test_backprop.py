import json

from sandbox import cli


def test_hand_written_backprop_agrees_with_autograd_and_finite_differences(tmp_path):
    out = tmp_path / "bp"
    assert (
        cli.main(
            [
                "run",
                "backprop",
                "--out",
                str(out),
                "--quiet",
                "--set",
                "hidden=5",
                "--set",
                "activation=gelu",
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["max_rel_diff_autograd"] < 1e-10
    assert summary["max_rel_diff_finite_differences"] < 1e-5
    assert (out / "gradient_norms.png").is_file()
    assert (out / "gradients.csv").read_text().count("\n") == 5  # header + W1, b1, W2, b2


def test_bad_settings(capsys):
    assert cli.main(["run", "backprop", "--set", "loss=hinge"]) == 2
    assert "loss='hinge' is not allowed" in capsys.readouterr().err
