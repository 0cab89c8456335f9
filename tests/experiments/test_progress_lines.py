"""Experiments show progress off a terminal (plain lines on standard error), none with quiet, same numbers."""

from sandbox import experiment as ex
from sandbox.progress import Reporter

TINY = {"maps": "4x4", "episodes_4x4": 400, "eval_episodes": 50, "curve_points": 4}


def _run(tmp_path, capsys, quiet):
    exp = ex.get("frozenlake")
    summary = ex.run_experiment(
        exp, ex.make_config(exp, sets=TINY), tmp_path / str(quiet), quiet=quiet
    )
    return summary, capsys.readouterr()


def test_frozenlake_prints_progress_lines_on_stderr_and_none_when_quiet(tmp_path, capsys):
    loud, out = _run(tmp_path, capsys, quiet=False)
    lines = [line for line in out.err.splitlines() if line.startswith("QLearning: ")]
    assert len(lines) == 10  # one a tenth of the budget, off a terminal
    assert lines[-1].startswith("QLearning: 400/400 episodes mean_return=")
    assert all("policy=" not in line for line in lines)  # a callback's array is never printed
    assert "QLearning" not in out.out  # the tables on standard output stay clean

    quiet, out = _run(tmp_path, capsys, quiet=True)
    assert out.err == "" and out.out == ""
    # progress changes no number
    assert {k: v for k, v in loud.items() if "seconds" not in k} == {
        k: v for k, v in quiet.items() if "seconds" not in k
    }


def test_a_fit_that_stops_early_still_prints_where_it_ended(capsys):
    """Off a terminal a converged fit (KMeans in a few of its 300 iterations) would otherwise print nothing."""
    with Reporter(None, True, desc="KMeans", unit="iterations", total=300) as report:
        for i in range(1, 8):
            report(done=i, inertia=10.0 / i)
    assert capsys.readouterr().err.splitlines() == ["KMeans: 7/300 iterations inertia=1.429 (0 s)"]
