"""Every Python and shell block in README.md and docs/*.md, run as written.

The conventions the pages follow (README.md states them to the reader):

- ```` ```python ```` blocks of one page run in order, in one fresh Python
  process whose working directory is a fresh temporary folder, sharing one
  namespace, as a reader pasting them into one session would. A block whose
  first line is ``# NAME.py`` is a file the page asks the reader to save: it
  is written into that folder instead (and the next blocks import it).
- An ```` ```output ```` block right after a Python block is what that block
  prints, exactly.
- ```` ```sh ```` blocks run in bash, each in a fresh temporary folder (holding
  the page's ``# NAME.py`` files, as the reader's folder would), as typed, after
  the one step every page asks for first: the project's virtual environment
  activated (``source .venv/bin/activate``; here, the environment running the
  tests). ``set -e``: every line must succeed.
- ```` ```console ```` blocks are the long runs (set-up, full experiments,
  benchmarks) and are not run; each opens with a ``# long:`` comment, so a
  reader sees which they are. ```` ```text ````, ```` ```toml ```` and the rest
  are not code.

The blocks run in parallel, one process per core, to keep the whole test short.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN = {"python", "sh"}
NOT_RUN = {"console", "output", "text", "toml"}
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
FILE_BLOCK = re.compile(r"\A# (?P<name>[\w.-]+\.py)\n")
TIMEOUT = 900  # seconds for one page or block: a cap for a hung block, far above what one needs

RUNNER = textwrap.dedent("""
    import contextlib, io, json, sys
    blocks = json.load(open(sys.argv[1]))
    namespace = {"__name__": "__main__"}
    printed = []
    for block in blocks:
        out = io.StringIO()
        code = "\\n" * (block["line"] - 1) + block["code"]  # tracebacks give the page's own line numbers
        with contextlib.redirect_stdout(out):
            try:
                exec(compile(code, block["page"], "exec"), namespace)
            finally:
                printed.append(out.getvalue())
                json.dump(printed, open(sys.argv[2], "w"))
""")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # the first line of the code, 1-based
    info: str
    code: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    text = page.read_text()
    return [
        Block(page, text.count("\n", 0, m.start("body")) + 1, m["info"].strip(), m["body"])
        for m in FENCE.finditer(text)
    ]


def saved_files(page: Path) -> dict[str, str]:
    """The ``# NAME.py`` blocks of a page: files the reader is asked to save."""
    return {
        m["name"]: b.code
        for b in blocks(page)
        if b.info == "python" and (m := FILE_BLOCK.match(b.code))
    }


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)  # this checkout's code, whichever environment runs the tests
    env["MPLBACKEND"] = "Agg"
    env.pop("PYTHONSTARTUP", None)
    return env


def activation() -> str:
    """The shell step that activates the virtual environment running these tests."""
    bin_dir = Path(sys.executable).parent
    if (bin_dir / "activate").is_file():
        return f"source {bin_dir / 'activate'}"
    return f'export PATH={bin_dir}:"$PATH"'  # not a venv: put this Python's scripts first, as activate would


def run_python_page(
    page: Path, folder: Path
) -> tuple[subprocess.CompletedProcess, list[str], list[Block]]:
    code = [b for b in blocks(page) if b.info == "python"]
    for name, text in saved_files(page).items():
        (folder / name).write_text(text)
    run = [b for b in code if not FILE_BLOCK.match(b.code)]
    (folder / "_blocks.json").write_text(
        json.dumps(
            [{"page": str(b.page.relative_to(ROOT)), "line": b.line, "code": b.code} for b in run]
        )
    )
    (folder / "_runner.py").write_text(RUNNER)
    proc = subprocess.run(
        [sys.executable, "_runner.py", "_blocks.json", "_printed.json"],
        cwd=folder,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    printed_path = folder / "_printed.json"
    printed = json.loads(printed_path.read_text()) if printed_path.is_file() else []
    return proc, printed, run


def run_shell_block(block: Block, folder: Path) -> subprocess.CompletedProcess:
    for name, text in saved_files(block.page).items():
        (folder / name).write_text(text)
    script = f"set -euo pipefail\n{activation()}\n{block.code}"
    return subprocess.run(
        ["bash", "-c", script],
        cwd=folder,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


PYTHON_PAGES = [
    p for p in PAGES if any(b.info == "python" and not FILE_BLOCK.match(b.code) for b in blocks(p))
]
SHELL_BLOCKS = [b for p in PAGES for b in blocks(p) if b.info == "sh"]


@pytest.fixture(scope="module")
def results(request, tmp_path_factory) -> dict[str, Future]:
    """Start the selected pages' Python and shell blocks at once, one process per core."""
    selected = [item.callspec.params for item in request.session.items if hasattr(item, "callspec")]
    pages = [p for p in PYTHON_PAGES if any(s.get("page") == p for s in selected)]
    shell = [b for b in SHELL_BLOCKS if any(s.get("block") == b for s in selected)]
    pool = ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1))
    futures: dict[str, Future] = {}
    for page in pages:
        folder = tmp_path_factory.mktemp("py-" + page.stem)
        futures[str(page)] = pool.submit(run_python_page, page, folder)
    for block in shell:
        folder = tmp_path_factory.mktemp("sh-" + block.page.stem)
        futures[block.where] = pool.submit(run_shell_block, block, folder)
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def _report(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-5000:]}"


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run_and_print_what_the_page_says(page, results):
    proc, printed, run = results[str(page)].result()
    assert proc.returncode == 0, f"{page.relative_to(ROOT)}: a Python block failed\n{_report(proc)}"
    everything = blocks(page)
    for i, block in enumerate(everything[:-1]):
        after = everything[i + 1]
        if block in run and after.info == "output":
            assert printed[run.index(block)] == after.code, (
                f"{block.where} printed something else than {after.where}"
            )


# What a page says a shell block prints, where the page puts it in prose: a block holding the key prints
# lines matching every pattern.
SHELL_PRINTS = {
    "PYTHONPATH=. sandbox check-env corridor:Corridor": [
        r"gymnasium check_env: passed",
        r"(?m)^SelfPlayQLearning\s+reinforcement\s+no\s",  # the learners' table: self-play needs a two-player env
        r"(?m)^QLearning\s+0\.9\s+1\s+11\s*$",  # learn-env: mean return, success rate, mean length
    ],
}


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=lambda b: b.where)
def test_shell_blocks_run_as_typed(block, results):
    proc = results[block.where].result()
    assert proc.returncode == 0, f"{block.where}: the shell block failed\n{_report(proc)}"
    for key, patterns in SHELL_PRINTS.items():
        if key in block.code:
            for pattern in patterns:
                assert re.search(pattern, proc.stdout), (
                    f"{block.where}: no {pattern!r} in what it printed\n{_report(proc)}"
                )


def test_the_printed_lines_checked_are_on_the_pages():
    for key in SHELL_PRINTS:
        assert any(key in b.code for b in SHELL_BLOCKS), f"no shell block holds {key!r} any more"


def test_pages_use_only_the_known_block_kinds():
    """A block of an unknown kind would be silently skipped; each kind must be one the test knows."""
    for page in PAGES:
        for b in blocks(page):
            assert b.info in RUN | NOT_RUN, (
                f"{b.where}: unknown block kind {b.info!r}; use one of {sorted(RUN | NOT_RUN)}"
            )


def test_output_blocks_follow_a_python_block():
    for page in PAGES:
        found = blocks(page)
        for before, b in zip(found, found[1:]):
            if b.info == "output":
                assert before.info == "python", (
                    f"{b.where}: an output block must follow the Python block it shows"
                )


def test_blocks_left_out_say_so_and_stay_few():
    """`console` blocks are not run: each says so to the reader, and they stay the exception."""
    found = [b for p in PAGES for b in blocks(p)]
    for b in found:
        if b.info == "console":
            assert b.code.startswith("# long:"), (
                f"{b.where}: a block the test skips must open with '# long: why'"
            )
    kinds = [b.info for b in found]
    assert kinds.count("console") < (kinds.count("sh") + kinds.count("python")) / 2


def test_readme_is_a_front_door():
    assert len((ROOT / "README.md").read_text().splitlines()) < 250


def test_links_between_pages_resolve():
    link = re.compile(r"\]\((?!https?://|#)(?P<target>[^)#\s]+)")
    for page in PAGES:
        for m in link.finditer(page.read_text()):
            assert (page.parent / m["target"]).exists(), (
                f"{page.relative_to(ROOT)} links to missing {m['target']}"
            )


# ------------------------------------------------------------------ docs/tables.py


@pytest.fixture(scope="module")
def tables():
    sys.path.insert(0, str(ROOT / "docs"))
    try:
        import tables as module
    finally:
        sys.path.remove(str(ROOT / "docs"))
    return module


def test_every_table_marker_names_a_table_of_the_script(tables):
    assert set(tables.wanted_in_pages(PAGES)) <= set(tables.TABLES)


def test_tables_run_a_tiny_experiment_and_write_its_table_between_the_markers(
    tables, tmp_path, monkeypatch, capsys
):
    tiny = tables.Table(
        ("run bandit --set runs=5 --set steps=30 --set tail=10 --out {out}",),
        tables.bandit_table,
        "a tiny testbed",
    )
    monkeypatch.setitem(tables.TABLES, "tiny", tiny)
    page = tmp_path / "page.md"
    page.write_text("Before.\n\n<!-- table:tiny -->\nold numbers\n<!-- /table -->\n\nAfter.\n")
    monkeypatch.setattr(tables, "PAGES", [page])
    runs = tmp_path / "runs"

    assert (
        tables.main(["--run", "--runs", str(runs)]) == 0
    )  # the pages ask for "tiny": it is run and written

    text = page.read_text()
    assert text.startswith("Before.\n\n<!-- table:tiny -->\n| agent |") and text.endswith(
        "<!-- /table -->\n\nAfter.\n"
    )
    assert "old numbers" not in text
    body = text.split("<!-- table:tiny -->\n")[1].split("<!-- /table -->")[0]
    rows = [line for line in body.splitlines() if line.startswith("| ")][
        2:
    ]  # below the header and its rule
    summary = json.loads((runs / "tiny" / "summary.json").read_text())
    assert [r.split(" | ")[0][2:] for r in rows] == list(
        summary["results"]
    )  # one row per agent, from summary.json
    made = json.loads((runs / "tiny" / "machine.json").read_text())
    assert made["cores"] == os.cpu_count() and made["cpu"] and made["torch"] and made["numpy"]
    assert (
        f"sandbox run bandit --set runs=5 --set steps=30 --set tail=10 --out {runs / 'tiny'}"
        in body
    )  # the command, as run
    assert f"on {made['cpu']} ({os.cpu_count()} cores, load average " in body
    assert text.startswith(
        "Before.\n\n<!-- table:tiny -->\n| agent | average reward (all steps) | average reward (last 10) |"
    )

    # Reading the same folders again gives the same page: the tables come from the runs, nothing else.
    assert tables.main(["--runs", str(runs)]) == 0
    assert page.read_text() == text
    assert tables.main(["--run", "--runs", str(runs)]) == 2  # never over runs already there
    assert "already holds runs" in capsys.readouterr().err


def test_tables_read_a_sweep_grouped_by_its_setting(tables, tmp_path):
    sweep = tmp_path / "sweep"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "sandbox.cli",
            "sweep",
            "backprop",
            "--grid",
            "activation=tanh,relu",
            "--seeds",
            "0,1",
            "--quiet",
            "--out",
            str(sweep),
        ],
        check=True,
        env=environment(),
        timeout=TIMEOUT,
    )
    headers, rows = tables.grouped(sweep, "activation", ("max_rel_diff_autograd",))
    assert headers[:2] == ["activation", "seeds"]
    assert [row[:2] for row in rows] == [["relu", 2], ["tanh", 2]]  # four runs, two per grid point
    assert "not recorded" in tables.stamp("sweep", sweep)  # made without --run: says so


def test_tables_refuse_an_empty_folder_and_an_unknown_marker(tables, tmp_path, capsys):
    assert tables.main(["--print", "--runs", str(tmp_path), "bandit"]) == 2
    assert "no finished runs under" in capsys.readouterr().err
    page = tmp_path / "page.md"
    page.write_text("<!-- table:no-such-table -->\n<!-- /table -->\n")
    with pytest.raises(ValueError, match="unknown table 'no-such-table'"):
        tables.wanted_in_pages([page])
