"""The import's progress bar: tqdm on a terminal only, after 2 s; never in pipes, logs or tests.

Run as a real second process, with stderr a pipe and then a pseudo-terminal.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pandas as pd

from tests.intake.conftest import box


def _table(tmp_path):
    path = tmp_path / "lo.csv"
    pd.DataFrame({"Mã lô": ["Z1"], "Mã KCN": ["P1"], "Mục đích": ["CN"], "wkt": [box(10, 10, 60, 60).wkt]}).to_csv(
        path, index=False
    )
    return path


def _run(args, stderr):
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    return subprocess.run([sys.executable, "-m", "kcn_gis", *args], stderr=stderr, stdout=subprocess.PIPE, env=env)


def test_no_progress_bar_in_a_pipe_or_for_a_quick_import_on_a_terminal(parks_atlas_path, tmp_path):
    args = ["import", str(_table(tmp_path)), "--layer", "plots", "--atlas", str(parks_atlas_path), "--crs", "EPSG:9209"]
    piped = _run([*args, "--dry-run"], subprocess.PIPE)
    assert piped.returncode == 0, piped.stderr
    text = piped.stderr.decode()
    assert "would import 1 feature(s)" in text
    assert "\r" not in text and "step/s" not in text and "kcn-gis import:" not in text
    seen, code = _on_terminal([sys.executable, "-m", "kcn_gis", *args])
    assert code == 0, seen
    assert b"wrote layer 'plots'" in seen
    assert b"step/s" not in seen and b"kcn-gis import:" not in seen  # under 2 s: quiet


def _on_terminal(cmd: list[str]) -> tuple[bytes, int]:
    """Run ``cmd`` with stderr on a pseudo-terminal, reading the terminal while it runs."""
    import fcntl
    import select
    import struct
    import termios

    main_fd, term_fd = pty.openpty()
    fcntl.ioctl(term_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    proc = subprocess.Popen(cmd, stderr=term_fd, stdout=subprocess.DEVNULL, env={**os.environ})
    os.close(term_fd)
    seen = b""
    try:
        while True:
            ready, _, _ = select.select([main_fd], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(main_fd, 65536)
                except OSError:  # the terminal closed: the child has exited
                    break
                if not chunk:
                    break
                seen += chunk
            elif proc.poll() is not None:
                break
    finally:
        os.close(main_fd)
    return seen, proc.wait()


def test_the_bar_is_drawn_on_a_terminal():
    """The same bar class the import uses, driven past its 2 s delay, draws on a terminal and not in a pipe."""
    code = (
        "import time; from kcn_gis.cli.interop import _Steps\n"
        "s = _Steps()\n"
        "for name in ('read', 'text', 'columns'):\n"
        "    s(name); time.sleep(1.1)\n"
        "s.close()\n"
    )
    seen, rc = _on_terminal([sys.executable, "-c", code])
    assert rc == 0 and b"kcn-gis import:" in seen and b"columns" in seen
    piped = subprocess.run([sys.executable, "-c", code], stderr=subprocess.PIPE, check=True)
    assert piped.stderr == b""
