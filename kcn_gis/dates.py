"""The one date normaliser for ``as_of`` (and other "on this date" arguments), for the Python API and the CLI.

Vietnamese documents write dates day first, so ambiguous text such as
``"05/11/2011"`` is **5 November 2011** everywhere in kcn_gis, in Python as on the
command line. Accepted:

* ``None`` - today (the local date);
* ISO text ``"2011-12-26"`` (a time part, ``"2011-12-26T08:30"``, is dropped),
  ``"2011/12/26"`` and ``"20111226"``;
* day-first text ``"26/12/2011"``, ``"26-12-2011"``, ``"26.12.2011"`` (four-digit year);
* text with a month name (``"26 Dec 2011"``);
* ``datetime.date``, ``datetime.datetime``, :class:`pandas.Timestamp`, ``numpy.datetime64``
  (a time-zone-aware value keeps its own calendar date);
* an integer written as ``YYYYMMDD`` (``20111226``). Any other integer is refused:
  it is never read as a count of seconds or nanoseconds since 1970.

Everything else raises :class:`~kcn_gis.errors.KcnGisError` saying how to write the date.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TypeAlias

import numpy as np
import pandas as pd

from kcn_gis.errors import KcnGisError

__all__ = ["DateLike", "as_of_date", "vietnam_today"]

#: What an ``as_of`` argument may be (``None``, meaning today, is accepted beside it).
DateLike: TypeAlias = str | dt.date | np.datetime64 | int

_HINT = "write it as YYYY-MM-DD (2011-12-26) or day first DD/MM/YYYY (26/12/2011)"
_ISO = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_DAY_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")


def _ymd(year: int, month: int, day: int, value: object, what: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(dt.date(year, month, day))
    except (ValueError, OverflowError) as exc:
        raise KcnGisError(f"{what} {value!r} is not a valid date ({exc}); {_HINT}") from None


def _from_text(text: str, value: object, what: str) -> pd.Timestamp:
    t = text.strip()
    if m := _ISO.fullmatch(t):
        return _ymd(int(m[1]), int(m[2]), int(m[3]), value, what)
    if m := _DAY_FIRST.fullmatch(t):
        return _ymd(int(m[3]), int(m[2]), int(m[1]), value, what)
    if m := _COMPACT.fullmatch(t):
        return _ymd(int(m[1]), int(m[2]), int(m[3]), value, what)
    if t.isdigit():
        raise KcnGisError(
            f"{what} {value!r}: a date written as digits only must be YYYYMMDD (e.g. 20111226); "
            f"it is never read as a timestamp. Otherwise {_HINT}"
        )
    if re.search(r"[^\W\d_]", t):  # a month name: unambiguous
        try:
            ts = pd.Timestamp(t)
        except (TypeError, ValueError):
            ts = pd.NaT
        if not pd.isna(ts):
            return ts
    raise KcnGisError(f"{what} {value!r} is not a date; {_HINT}")


def as_of_date(value: DateLike | None, *, what: str = "as_of") -> pd.Timestamp:
    """Normalise a date argument to a midnight :class:`pandas.Timestamp` without time zone.

    Parameters
    ----------
    value : str, date, datetime, Timestamp, numpy.datetime64, int or None
        The date (see the module docstring for the accepted forms; text is read
        day first when ambiguous). ``None`` means today (the local date).
    what : str, default "as_of"
        The argument's name, for the error message.

    Returns
    -------
    pandas.Timestamp
        Midnight of that date, time-zone naive.

    Raises
    ------
    KcnGisError
        If the value is not a date, is NaT, or is an integer that is not ``YYYYMMDD``.

    Examples
    --------
    >>> as_of_date("05/11/2011").date()
    datetime.date(2011, 11, 5)
    >>> as_of_date(20111226).date()
    datetime.date(2011, 12, 26)
    """
    if value is None:
        return pd.Timestamp(dt.date.today())
    if isinstance(value, bool | np.bool_):
        raise KcnGisError(f"{what} {value!r} is not a date; {_HINT}")
    if isinstance(value, int | np.integer):
        return _from_text(str(int(value)), value, what)
    if isinstance(value, str):
        return _from_text(value, value, what)
    if isinstance(value, dt.date | np.datetime64):  # datetime and pandas.Timestamp are dates too
        ts = pd.Timestamp(value)
        if pd.isna(ts):
            raise KcnGisError(f"{what} is NaT; give a date such as '2011-12-26', or None for today")
        if ts.tzinfo is not None:
            ts = ts.tz_localize(None)
        return ts.normalize()
    if value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        raise KcnGisError(f"{what} is missing (NaN/NaT); give a date such as '2011-12-26', or None for today")
    raise KcnGisError(f"{what} {value!r} ({type(value).__name__}) is not a date; {_HINT}")


#: Vietnam's offset from UTC (Asia/Ho_Chi_Minh, no daylight saving).
VN_OFFSET = dt.timedelta(hours=7)


def vietnam_today(now: dt.datetime | None = None) -> dt.date:
    """Today's date in Vietnam (UTC+7), the limit of dates that may be recorded.

    Parameters
    ----------
    now : datetime, optional
        The moment (naive = UTC). Default: now.
    """
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    utc = moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment
    return (utc + VN_OFFSET).date()
