"""sandbox/progress.py: the one callback, bars on a terminal, plain lines elsewhere, nothing when quiet."""

import pytest

from sandbox import experiment as ex
from sandbox.progress import Reporter, check_callback


def _train(reporter: Reporter, total: int) -> int:
    """A learner's loop: reports when due, stops when the callback asks."""
    with reporter as report:
        for step in range(1, total + 1):
            if report.due(step) and report(done=step, loss=1.0 / step):
                return step
    return total


def test_callback_gets_a_dict_at_the_cadence_and_can_stop_training():
    seen = []
    done = _train(Reporter(seen.append, desc="T", unit="steps", total=1000, reports=10), 1000)
    assert done == 1000 and [i["done"] for i in seen] == list(range(100, 1001, 100))
    assert seen[0] == {"unit": "steps", "done": 100, "total": 1000, "loss": 0.01}
    stopped = _train(
        Reporter(lambda info: info["done"] < 300, desc="T", unit="steps", total=1000, reports=10),
        1000,
    )
    assert stopped == 300


def test_off_a_terminal_progress_is_a_line_every_tenth_on_stderr(capsys):
    _train(Reporter(None, True, desc="DQN", unit="steps", total=1000), 1000)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == ""  # never mixed into the printed tables
    assert len(lines) == 10 and lines[0].startswith("DQN: 100/1,000 steps loss=0.01")
    assert lines[-1].startswith("DQN: 1,000/1,000 steps")


def test_no_listener_no_output_and_no_work(capsys):
    reporter = Reporter(None, False, desc="T", unit="steps", total=100)
    assert not reporter.active and not reporter.due(100)
    _train(reporter, 100)
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    "callback, progress, message", [(3, False, "is not callable"), (None, "yes", "True or False")]
)
def test_bad_arguments_are_refused(callback, progress, message):
    with pytest.raises(ValueError, match=message):
        check_callback(callback, progress)


def test_run_progress_follows_quiet(tmp_path):
    loud = ex.Run(tmp_path, "t", None, quiet=False)
    quiet = ex.Run(tmp_path, "t", None, quiet=True)
    assert loud.progress("fit") is True and quiet.progress("fit") is False


def test_open_ended_budgets_print_at_most_every_few_seconds(capsys):
    _train(Reporter(None, True, desc="KMeans", unit="iterations", total=None), 50)
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
