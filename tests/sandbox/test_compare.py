"""Runs over seeds, ``sandbox compare`` and its report, with a toy experiment (no learner, milliseconds a run)."""

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np
import pytest

from sandbox import cli, compare
from sandbox import experiment as ex
from sandbox.report import Report


@dataclass
class ToyConfig:
    seed: int = 0
    rate: float = 0.5
    label: str = "same"  # never varied: must not show up as a difference


def toy(cfg: ToyConfig, run: ex.Run) -> dict:
    noise = np.random.default_rng(cfg.seed).normal(0, 0.01)
    for step in range(1, 11):
        run.log("train", step, accuracy=1 - (1 - cfg.rate) ** step + noise)
    return {"accuracy": cfg.rate + noise, "constant": 1.0, "converged": cfg.seed != 1}


TOY = ex.Experiment("toy", "a toy", ToyConfig, toy, headline=("accuracy", "constant"))


@pytest.fixture
def with_toy(monkeypatch):
    real = ex.discover
    monkeypatch.setattr(ex, "discover", lambda: {**real(), "toy": TOY})


def test_run_seeds_groups_runs_and_writes_the_aggregate_and_report(tmp_path, capsys, with_toy):
    out = tmp_path / "group"
    code = cli.main(
        [
            "run",
            "toy",
            "--seeds",
            "0-2",
            "--backend",
            "serial",
            "--set",
            "rate=0.9",
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert sorted(p.name for p in (out / "rate=0.9").iterdir()) == ["seed=0", "seed=1", "seed=2"]
    assert "2 ok, 1 not converged" in printed  # seed 1 is flagged, not "ok"
    assert "seed=1: not converged" in printed
    assert "(n=3)" in printed and "95 % Student t" in printed
    assert f"report: {out / 'report.html'}" in printed
    assert (out / "report.md").is_file() and (out / "report.html").is_file()
    result = json.loads((out / "comparison.json").read_text())
    (point,) = result["settings"].values()
    assert (
        point["metrics"]["accuracy"]["n"] == 3
        and point["metrics"]["accuracy"]["ci_low"] is not None
    )


def test_run_seeds_refuses_bad_combinations(tmp_path, capsys, with_toy):
    assert cli.main(["run", "toy", "--seeds", "0-2", "--seed", "3"]) == 2
    assert "drop --seed" in capsys.readouterr().err
    assert cli.main(["run", "toy", "--workers", "2", "--out", str(tmp_path / "x")]) == 2
    assert "go with --seeds" in capsys.readouterr().err
    assert cli.main(["run", "toy", "--seeds", "3-1"]) == 2
    assert "runs backwards" in capsys.readouterr().err


def test_compare_mixes_sweeps_and_single_runs(tmp_path, capsys, with_toy):
    from sandbox.sweep import sweep

    sweep("toy", {"rate": ["0.2", "0.8"]}, [0, 2, 3], tmp_path / "sweep", quiet=True)
    ex.run_experiment(
        TOY, ex.make_config(TOY, seed=0, sets=["rate=0.79"]), tmp_path / "single", quiet=True
    )
    code = cli.main(
        [
            "compare",
            str(tmp_path / "sweep"),
            str(tmp_path / "single"),
            "--out",
            str(tmp_path / "cmp"),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    result = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert list(result["settings"]) == ["rate=0.2", "rate=0.8", "rate=0.79"]
    assert result["differing"] == ["rate"]  # label and the seed are the same everywhere
    lead = {row["metric"]: row for row in result["leaders"]}
    assert lead["accuracy"]["leader"] == "rate=0.8" and lead["accuracy"]["runner-up"] == "rate=0.79"
    assert lead["accuracy"]["95 % intervals overlap?"].startswith(
        "unknown"
    )  # the single run has no interval
    assert "constant" not in lead and "not shown: constant" in printed
    header = printed.splitlines()[0]
    assert "accuracy" in header and "constant" not in header
    # 0.8 against 0.2, three seeds each: separated by far more than the noise
    two = compare.compare([tmp_path / "sweep"], tmp_path / "cmp2", quiet=True)
    assert two["leaders"][0]["95 % intervals overlap?"].startswith("no")


def test_compare_names_what_it_cannot_read(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        compare.load(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="neither config.json nor sweep.json"):
        compare.load(tmp_path / "empty")
    assert cli.main(["compare", str(tmp_path / "empty")]) == 2


def test_a_failed_run_is_shown_as_failed(tmp_path, with_toy):
    out = tmp_path / "group"
    ex.run_experiment(TOY, ex.make_config(TOY, seed=0), out / "default" / "seed=0", quiet=True)
    (out / "default" / "seed=1").mkdir(parents=True)  # started, never finished
    (out / "sweep.json").write_text(json.dumps({"experiment": "toy", "grid": {}, "seeds": [0, 1]}))
    (out / "summary.json").write_text(
        json.dumps({"failed": ["default seed=1: RuntimeError: kaput"]})
    )
    result = compare.compare([out], quiet=True)
    (point,) = result["settings"].values()
    assert point["status"] == "1 ok, 1 failed"
    assert "failed: RuntimeError: kaput" in (out / "report.md").read_text()


def test_report_html_is_self_contained(tmp_path, with_toy):
    out = tmp_path / "g"
    cli.main(["run", "toy", "--seeds", "0,1", "--backend", "serial", "--out", str(out), "--quiet"])
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') >= 1
    assert not re.search(
        r"""(src|href)=["'](?!data:)""", page
    )  # nothing to fetch from disk or network
    md = (out / "report.md").read_text()
    for name in re.findall(r"\]\(([^)]+\.png)\)", md):
        assert (out / name).is_file()


# ---------------------------------------------------------------- in a real browser

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Injected into a copy of the page: collect console errors and failed loads, then, once the page
# has loaded, write what the browser saw into the DOM, where --dump-dom shows it.
PROBE_HEAD = """<script>window.__errors = [];
(function () { var e = console.error; console.error = function () {
  window.__errors.push(Array.from(arguments).join(' ')); e.apply(console, arguments); };
  window.addEventListener('error', function (ev) {
    window.__errors.push(ev.message || ('failed to load ' + String(ev.target && ev.target.src).slice(0, 40))); }, true);
})();</script>"""
PROBE_TAIL = """<script>window.addEventListener('load', function () {
  var imgs = Array.from(document.images);
  var r = {images: imgs.length, loaded: imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length,
           errors: window.__errors, h1: (document.querySelector('h1') || {}).textContent,
           tables: document.querySelectorAll('table').length, height: document.body.scrollHeight};
  var p = document.createElement('pre'); p.id = 'probe'; p.textContent = JSON.stringify(r); document.body.appendChild(p);
});</script>"""


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI; .ci/install-chromium installs it.")
        pytest.skip("Chromium is not installed (apt-get install chromium, or .ci/install-chromium)")
    return exe


def open_in_browser(page: str, tmp_path) -> dict:
    probe = page.replace("<head>", "<head>" + PROBE_HEAD, 1).replace(
        "</body>", PROBE_TAIL + "</body>", 1
    )
    path = tmp_path / "probe.html"
    path.write_text(probe)
    res = subprocess.run(
        [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = re.search(r'<pre id="probe">(.*?)</pre>', res.stdout, re.S)
    assert found, f"the page did not finish loading in Chromium:\n{res.stderr[-2000:]}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def test_report_renders_in_headless_chromium(tmp_path, with_toy):
    out = tmp_path / "g"
    cli.main(["run", "toy", "--seeds", "0-2", "--backend", "serial", "--out", str(out), "--quiet"])
    seen = open_in_browser((out / "report.html").read_text(), tmp_path)
    assert seen["h1"] == "toy over seeds 0-2"
    assert seen["tables"] >= 2 and seen["height"] > 500
    assert seen["images"] >= 1 and seen["loaded"] == seen["images"]
    assert seen["errors"] == []


def test_the_browser_check_catches_a_broken_image(tmp_path):
    report = Report("broken").figure(b"\x89PNG\r\n\x1a\nnot really a png", "bad")
    seen = open_in_browser(report.html(), tmp_path)
    assert seen["images"] == 1 and seen["loaded"] == 0
    assert seen["errors"]


def test_the_tour_ends_by_naming_its_report(tmp_path, monkeypatch, capsys):
    from matplotlib.figure import Figure

    def drawn(cfg, run):
        fig = Figure()
        fig.add_subplot().plot([0, 1], [1, 0])
        run.save_plot(fig, "line")
        return {"answer": 42}

    member = ex.Experiment(
        "drawn", "draws a line", ToyConfig, drawn, tour={}, paradigm="toy", headline=("answer",)
    )
    real = ex.discover
    monkeypatch.setattr(ex, "discover", lambda: {**real(), "drawn": member})
    tour = ex.get("tour")
    ex.run_experiment(tour, ex.make_config(tour, sets=["only=drawn"]), tmp_path / "t")
    assert f"report: {tmp_path / 't' / 'report.html'}" in capsys.readouterr().out
    page = (tmp_path / "t" / "report.html").read_text()
    assert "drawn (toy)" in page and "answer=42" in page
    assert page.count('src="data:image/png;base64,') == 1


def test_comparing_one_run_folder_leaves_its_own_report_alone(tmp_path, monkeypatch):
    run_dir = tmp_path / "single"
    ex.run_experiment(TOY, ex.make_config(TOY, seed=0), run_dir, quiet=True)
    (run_dir / "report.html").write_text("the experiment's own report")
    monkeypatch.chdir(tmp_path)
    result = compare.compare([run_dir], quiet=True)
    assert (run_dir / "report.html").read_text() == "the experiment's own report"
    assert result["report"].startswith("runs/compare/") and (tmp_path / result["report"]).is_file()
