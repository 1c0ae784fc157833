"""The console entry point ends the process without the interpreter's teardown: output, exit codes and
exit handlers are kept."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

KCN_GIS = [sys.executable, "-m", "kcn_gis"]


def test_output_is_complete_and_the_exit_code_kept(excel_atlas, tmp_path):
    r = subprocess.run(
        [*KCN_GIS, "fill-rates", "--atlas", str(excel_atlas), "--as-of", "2011-12-26", "--format", "json"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)  # all of it was flushed before the process ended
    assert rows and "fill_rate_planned" in (rows[0] if isinstance(rows, list) else rows["rows"][0])
    bad = subprocess.run(
        [*KCN_GIS, "fill-rates", "--atlas", str(tmp_path / "missing.gpkg")],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    assert bad.returncode not in (0, 1) and "missing.gpkg" in bad.stderr  # kcn-gis's own error status, no traceback
    assert "Traceback" not in bad.stderr


def test_exit_handlers_still_run_and_running_threads_are_waited_for(tmp_path):
    """atexit functions run; a command's thread that is still working keeps the normal exit (it is waited for)."""
    marker, late = tmp_path / "atexit.txt", tmp_path / "thread.txt"
    script = textwrap.dedent(
        f"""
        import atexit, sys, threading, time
        import kcn_gis.cli as cli

        atexit.register(lambda: open({str(marker)!r}, "w").write("ran"))

        def slow():
            time.sleep(0.5)
            open({str(late)!r}, "w").write("done")

        def fake_main(argv=None):
            if "--thread" in sys.argv:
                threading.Thread(target=slow).start()
            return 4

        cli.main = fake_main
        cli.console()
        """
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert r.returncode == 4, r.stderr
    assert marker.read_text() == "ran" and not late.exists()
    marker.unlink()
    r = subprocess.run([sys.executable, "-c", script, "--thread"], capture_output=True, text=True, check=False)
    assert r.returncode == 4, r.stderr
    assert late.read_text() == "done" and marker.read_text() == "ran"
