"""Running an experiment end to end at toy size, the way every experiment test does."""

import json

from sandbox import experiment as ex


def run_small(name, tmp_path, **sets):
    """Run experiment ``name`` with ``sets`` into ``tmp_path / name``; its summary, checked to be on disk."""
    exp = ex.get(name)
    summary = ex.run_experiment(exp, ex.make_config(exp, sets=sets), tmp_path / name, quiet=True)
    assert json.loads((tmp_path / name / "summary.json").read_text())["experiment"] == name
    return summary
