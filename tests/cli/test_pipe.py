"""A reader that goes away (``kcn-gis fill-rates | head -1``) ends the command quietly, as for other Unix tools."""

from __future__ import annotations

import os
import subprocess
import sys

KCN_GIS = [sys.executable, "-m", "kcn_gis"]


def test_head_1_ends_quietly(excel_atlas):
    """A real shell pipe into ``head -1``: one line out, status 0 or 141, no error on standard error."""
    cmd = f"{' '.join(KCN_GIS)} fill-rates --atlas '{excel_atlas}' --as-of 2011-12-26 --format csv | head -1"
    r = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {cmd}"], capture_output=True, text=True, encoding="utf-8", check=False
    )
    assert r.stdout == "park_id,planned_ha,acquired_ha,leased_ha,fill_rate_planned,fill_rate_acquired\n" or (
        r.stdout.startswith("park_id,") and r.stdout.count("\n") == 1
    )
    assert r.returncode in (0, 141), r.stderr
    assert r.stderr == "as of 2011-12-26\n"  # the date used, and nothing else


def test_a_reader_that_closed_first_gives_141_and_no_traceback(excel_atlas):
    """The pipe is closed before the command writes: the write fails with EPIPE for sure."""
    read, write = os.pipe()
    os.close(read)  # nobody will ever read
    try:
        r = subprocess.run(
            [*KCN_GIS, "fill-rates", "--atlas", str(excel_atlas), "--as-of", "2011-12-26", "--format", "json"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            check=False,
        )
    finally:
        os.close(write)
    assert r.returncode == 141
    assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr
    assert r.stderr.strip() == "as of 2011-12-26"
