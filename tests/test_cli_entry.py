"""Conventions of the command line: --version, python -m pressrag, --help on every option, --mode
choices, eval --fail-under / --floors as a CI gate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pressrag", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def test_version_and_python_m_pressrag():
    from importlib.metadata import version

    out = _run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"pressrag {version('pressrag')}"


def test_every_option_of_every_command_has_help():
    import click
    import typer.main

    from pressrag.cli import app

    group = typer.main.get_command(app)
    for name, command in group.commands.items():
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help":
                assert param.help, f"pressrag {name} {param.opts[0]} has no --help text"
    serve = group.commands["serve"]
    assert "--allow-uploads" in [o for p in serve.params for o in getattr(p, "opts", [])]


def test_mode_is_a_choice():
    from pressrag.cli import app

    result = CliRunner().invoke(app, ["ask", "--mode", "fuzzy", "질문"])
    assert result.exit_code == 2 and "fuzzy" in result.output and "hybrid" in result.output


def test_floors_parse_and_gate():
    from rag.cli import check_floors, parse_floors

    floors = parse_floors(["hit@1=0.95", "false_refusal_rate=0.04"], None)
    assert floors == {"hit@1": 0.95, "false_refusal_rate": 0.04}
    report = {"retrieval": {"hit@1": 0.97}, "answer": {"false_refusal_rate": 0.0}}
    assert check_floors(report, floors) == []
    low = {"retrieval": {"hit@1": 0.90}, "answer": {"false_refusal_rate": 0.10}}
    misses = check_floors(low, floors)
    assert len(misses) == 2 and "below the floor 0.95" in misses[0] and "above the ceiling" in misses[1]
    assert "not in the report" in check_floors(report, {"hit@9": 1.0})[0]
    # a set of unanswerable questions only has no hit@1 to gate: one line, not a TypeError
    unanswerable = {"retrieval": {"hit@1": None}, "answer": {"false_refusal_rate": None}}
    assert check_floors(unanswerable, {"hit@1": 0.9}) == ["hit@1: no question of this set measures it"]
    with pytest.raises(ValueError, match="METRIC=VALUE"):
        parse_floors(["hit@1"], None)
    file_floors = parse_floors(None, ROOT / "eval" / "floors.json")
    assert file_floors["hit@1"] == json.loads((ROOT / "eval" / "floors.json").read_text())["retrieval"]["hit@1"]


@pytest.mark.slow
@pytest.mark.model
def test_eval_fail_under_sets_the_exit_code(demo_index_dir, tmp_path):
    from pressrag.cli import app

    runner = CliRunner()
    args = ["eval", "--index", str(demo_index_dir), "--limit", "4"]
    passed = runner.invoke(app, [*args, "--fail-under", "hit@1=0.5", "--json-out", str(tmp_path / "r.json")])
    assert passed.exit_code == 0, passed.output
    failed = runner.invoke(app, [*args, "--fail-under", "hit@1=1.01"])
    assert failed.exit_code == 1 and "hit@1" in failed.output and "below the floor 1.01" in failed.output
    bad = runner.invoke(app, [*args, "--fail-under", "hit@1"])
    assert bad.exit_code == 2


@pytest.mark.slow
@pytest.mark.model
def test_eval_reports_intervals_and_the_change_since_a_saved_run(demo_index_dir, tmp_path):
    from pressrag.cli import app

    runner = CliRunner()
    args = ["eval", "--index", str(demo_index_dir)]
    saved = tmp_path / "before.json"
    first = runner.invoke(app, [*args, "--limit", "4", "--json-out", str(saved)])
    assert first.exit_code == 0, first.output
    report = json.loads(saved.read_text(encoding="utf-8"))
    low, high = report["intervals"]["hit@1"]
    assert low <= report["retrieval"]["hit@1"] <= high and "95% intervals" in first.output
    # six questions now, four of them in the saved run: those four are compared, and nothing changed
    again = runner.invoke(app, [*args, "--limit", "6", "--baseline", str(saved)])
    assert again.exit_code == 0, again.output
    assert "change since" in again.output and "0 answers changed" in again.output
    assert "same" in again.output and "within noise" not in again.output
    # a file that is not a report: one line, exit 2
    other = tmp_path / "floors.json"
    other.write_text(json.dumps({"retrieval": {"hit@1": 0.9}}), encoding="utf-8")
    bad = runner.invoke(app, [*args, "--limit", "1", "--baseline", str(other)])
    assert bad.exit_code == 2 and "is not a pressrag eval report" in bad.output
    missing = runner.invoke(app, [*args, "--limit", "1", "--baseline", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "cannot read it" in missing.output
    # two modes in one run: the difference of each metric comes with its paired interval and a reading
    modes = runner.invoke(app, [*args, "--limit", "6", "--mode", "dense", "--compare", "bm25"])
    assert modes.exit_code == 0, modes.output
    row = next(line for line in modes.output.splitlines() if "retrieval.hit@1" in line)
    assert "…" in row and any(word in row for word in ("better", "worse", "within noise", "same"))
