"""The README's "Plug in your own environment" section, run as written.

The Python block runs in this process with the example's folder on sys.path
and as the working directory; the shell commands run through ``sandbox``'s
``main`` with ``PYTHONPATH=.`` done the same way (a subprocess would add
seconds of start-up per command and prove nothing more).
"""

import re
import shlex
import sys
from pathlib import Path

import gymnasium as gym

from sandbox.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def _section_blocks() -> list[tuple[str, str]]:
    text = README.read_text()
    start = text.index("## Plug in your own environment")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else len(text)]
    return re.findall(r"```(\w*)\n(.*?)```", section, flags=re.S)


def _sandbox_argv(line: str) -> list[str]:
    words = shlex.split(line)
    assert words[:2] == ["PYTHONPATH=.", ".venv/bin/sandbox"], line
    return words[2:]


def test_readme_plugin_example_runs_as_written(tmp_path, monkeypatch, capsys):
    blocks = _section_blocks()
    assert [k for k, _ in blocks] == ["python", "python", "", "sh", "toml"]
    module, usage, printed, shell = (b for _, b in blocks[:4])
    assert module.startswith("# corridor.py")
    (tmp_path / "corridor.py").write_text(module)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "corridor", raising=False)
    try:
        exec(compile(usage, "README usage block", "exec"), {"__name__": "__readme__"})
        assert capsys.readouterr().out == printed  # the README shows exactly what the code prints

        check, learn = (_sandbox_argv(line) for line in shell.splitlines() if line.strip())
        assert main(check) == 0
        out = capsys.readouterr().out
        assert "gymnasium check_env: passed" in out
        assert re.search(r"^SelfPlayQLearning\s+reinforcement\s+no\s", out, flags=re.M)
        assert main(learn) == 0
        out = capsys.readouterr().out
        assert re.search(r"^QLearning\s+0\.9\s+1\s+11\s*$", out, flags=re.M), out
        assert (tmp_path / "runs" / "corridor" / "summary.json").is_file()
    finally:
        sys.modules.pop("corridor", None)
        gym.registry.pop("my/Corridor-v0", None)
