"""The README's "Plug in your own environment" section, run exactly as written."""

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _section_blocks() -> list[tuple[str, str]]:
    text = README.read_text()
    start = text.index("## Plug in your own environment")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else len(text)]
    return re.findall(r"```(\w*)\n(.*?)```", section, flags=re.S)


def _run(cmd, cwd, shell=False):
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(cmd, cwd=cwd, env=env, shell=shell, capture_output=True, text=True, timeout=300)


def test_readme_plugin_example_runs_as_written(tmp_path):
    blocks = _section_blocks()
    kinds = [k for k, _ in blocks]
    assert kinds == ["python", "python", "", "sh", "toml"], kinds
    module, usage, printed, shell = blocks[0][1], blocks[1][1], blocks[2][1], blocks[3][1]
    assert module.startswith("# corridor.py")
    (tmp_path / "corridor.py").write_text(module)
    (tmp_path / "usage.py").write_text(usage)

    out = _run([sys.executable, "usage.py"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout == printed  # the README shows exactly what the code prints

    sandbox = str(Path(sys.executable).parent / "sandbox")
    commands = [line for line in shell.splitlines() if line.strip()]
    assert len(commands) == 2
    check = _run(commands[0].replace(".venv/bin/sandbox", sandbox), tmp_path, shell=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "gymnasium check_env: passed" in check.stdout
    assert re.search(r"^SelfPlayQLearning\s+reinforcement\s+no\s", check.stdout, flags=re.M)
    learn = _run(commands[1].replace(".venv/bin/sandbox", sandbox), tmp_path, shell=True)
    assert learn.returncode == 0, learn.stdout + learn.stderr
    assert re.search(r"^QLearning\s+0\.9\s+1\s+11\s*$", learn.stdout, flags=re.M), learn.stdout
    assert (tmp_path / "runs" / "corridor" / "summary.json").is_file()
