"""Progress bars for long operations: on a terminal only, silenced by ``--quiet``.

One helper for the whole package. Library code that loops over something slow
wraps it in :func:`track`, or reports named steps with :func:`steps`; the bar
is drawn with tqdm on standard error, only when standard error is a terminal,
only once the operation has taken longer than :data:`DELAY_S` seconds, and
never after :func:`set_quiet` (the CLI's ``--quiet``). Output redirected to a
file or a pipe therefore never contains progress text.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = ["DELAY_S", "Steps", "enabled", "set_quiet", "steps", "track"]

T = TypeVar("T")

#: Seconds an operation runs before its bar appears (short operations show nothing).
DELAY_S = 2.0

_state = {"quiet": False}


def set_quiet(quiet: bool) -> None:
    """Turn progress bars off (``True``, the CLI's ``--quiet``) or back on, for the whole process."""
    _state["quiet"] = bool(quiet)


def enabled() -> bool:
    """Whether a bar would be drawn now: not quiet, and standard error is a terminal."""
    if _state["quiet"]:
        return False
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # closed or replaced stream
        return False


def track(items: Iterable[T], *, desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """Iterate over ``items`` with a progress bar (see the module docstring for when it shows).

    Parameters
    ----------
    items : iterable
        What to loop over.
    desc : str
        Short label shown before the bar, e.g. ``"kcn-gis validate"``.
    total : int, optional
        Number of items, when ``items`` has no ``len``.
    unit : str
        Unit name shown in the bar (``"it"``, ``"layer"``, ``"step"``).
    """
    if not enabled():
        yield from items
        return
    from tqdm import tqdm

    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    bar = tqdm(items, desc=desc, total=total, unit=unit, file=sys.stderr, delay=DELAY_S, leave=False)
    try:
        yield from bar
    finally:
        bar.close()


class Steps:
    """Named steps of one operation; :meth:`__call__` marks the start of the next step."""

    def __init__(self, desc: str, names: Sequence[str]) -> None:
        self.names = list(names)
        self.bar: Any = None
        self._started = False
        if enabled():
            from tqdm import tqdm

            self.bar = tqdm(total=len(self.names), desc=desc, unit="step", file=sys.stderr, delay=DELAY_S, leave=False)

    def __call__(self, name: str) -> None:
        if self.bar is None:
            return
        if self._started:
            self.bar.update(1)
        self._started = True
        self.bar.set_postfix_str(name, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.update(self.bar.total - self.bar.n)
            self.bar.close()
            self.bar = None


@contextmanager
def steps(desc: str, names: Sequence[str]) -> Iterator[Steps]:
    """A progress bar over the named steps of one operation.

    Examples
    --------
    >>> with steps("kcn-gis export", ["read", "write"]) as step:
    ...     step("read")
    ...     step("write")
    """
    s = Steps(desc, names)
    try:
        yield s
    finally:
        s.close()
