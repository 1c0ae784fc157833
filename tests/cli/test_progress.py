"""kcn_gis.progress: bars on a terminal only, never with --quiet, and never in redirected output."""

from __future__ import annotations

import io

import pytest

from kcn_gis import progress
from kcn_gis.cli import main


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _not_quiet():
    progress.set_quiet(False)
    yield
    progress.set_quiet(False)


def test_enabled_only_on_a_terminal_and_not_when_quiet(monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert not progress.enabled()
    monkeypatch.setattr("sys.stderr", _Terminal())
    assert progress.enabled()
    progress.set_quiet(True)
    assert not progress.enabled()


def test_track_and_steps_draw_on_a_terminal(monkeypatch):
    term = _Terminal()
    monkeypatch.setattr("sys.stderr", term)
    monkeypatch.setattr(progress, "DELAY_S", 0.0)  # draw at once (no timing in tests)
    assert list(progress.track(range(5), desc="work")) == [0, 1, 2, 3, 4]
    with progress.steps("job", ["read", "write"]) as step:
        step("read")
        step("write")
    assert "work" in term.getvalue() and "job" in term.getvalue()


def test_quiet_draws_nothing(monkeypatch):
    term = _Terminal()
    monkeypatch.setattr("sys.stderr", term)
    monkeypatch.setattr(progress, "DELAY_S", 0.0)
    progress.set_quiet(True)
    assert list(progress.track(range(3), desc="work")) == [0, 1, 2]
    with progress.steps("job", ["a"]) as step:
        step("a")
    assert term.getvalue() == ""


def test_the_cli_quiet_option_reaches_the_library(excel_atlas, capsys):
    assert main(["validate", "--atlas", str(excel_atlas), "--quiet"]) in (0, 1)
    assert not progress.enabled()
