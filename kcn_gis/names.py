"""Names and ids as people type them: park ids without case, park and river names without diacritics.

The Python API and the command line resolve what a user typed with the same rules, so that
``clearance_progress(park="gb")``, ``--park GB``, ``park="Gia Bình"`` and ``park="gia binh"`` all mean the
park ``GB``, and ``river="song duong"`` means the Sông Đuống:

* an id matches exactly, then without case (``"gb"`` → ``GB``);
* a name matches without case, diacritics (``đ`` = ``d``), repeated spaces and a leading
  ``KCN`` / ``Khu công nghiệp`` (``"gia binh"`` → *KCN Gia Bình*);
* a single string where a list is expected is one item (``"industrial"``, not its letters);
* what matches nothing, or more than one park, raises :class:`~kcn_gis.errors.UnknownNameError`
  naming what was typed and listing the choices.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from kcn_gis.errors import UnknownNameError

__all__ = ["as_items", "fold", "resolve_park_ids", "same_name"]

_PARK_PREFIX = re.compile(r"^(kcn|khu cong nghiep|industrial park)\s+")


def fold(text: object) -> str:
    """Return ``text`` without case, diacritics and repeated spaces, for matching names.

    ``"Sông  Đuống"`` → ``"song duong"``. NFC or NFD input gives the same result.
    """
    s = unicodedata.normalize("NFD", str(text)).replace("đ", "d").replace("Đ", "D")
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    return " ".join(s.casefold().split())


def same_name(a: object, b: object) -> bool:
    """True when two names are the same without case, diacritics and repeated spaces."""
    return fold(a) == fold(b)


def as_items(value: str | Iterable[object] | None) -> list[str] | None:
    """A list of strings from a string (one item), an iterable of them, or None (None)."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _park_key(name: object) -> str:
    return _PARK_PREFIX.sub("", fold(name))


def resolve_park_ids(
    requested: str | Iterable[object] | None,
    ids: Iterable[object],
    *,
    names: Mapping[str, Iterable[object]] | None = None,
) -> list[str] | None:
    """Return the park ids that ``requested`` means, in the order given, without repeats.

    Parameters
    ----------
    requested : str, list of str or None
        Park ids or names as a user typed them; a single string is one park. None gives None.
    ids : iterable of str
        The park ids that exist (e.g. ``parks["park_id"]``, or the park ids of the parcels).
    names : mapping, optional
        ``park_id`` → the park's names (Vietnamese and English), to match names too.

    Returns
    -------
    list of str or None

    Raises
    ------
    UnknownNameError
        When a requested value matches no park, or names more than one.
    """
    wanted = as_items(requested)
    if wanted is None:
        return None
    known = list(dict.fromkeys(str(i) for i in ids if i is not None and str(i) != "nan"))
    by_fold: dict[str, list[str]] = {}
    for i in known:
        by_fold.setdefault(fold(i), []).append(i)
    by_name: dict[str, set[str]] = {}
    for pid, ns in (names or {}).items():
        for n in ns:
            if isinstance(n, str) and n.strip():
                by_name.setdefault(_park_key(n), set()).add(str(pid))
    out: list[str] = []
    unknown: list[str] = []
    for w in wanted:
        hit = [w] if w in known else (by_fold.get(fold(w)) or sorted(by_name.get(_park_key(w), ())))
        if len(hit) == 1:
            out.append(hit[0])
        elif len(hit) > 1:
            raise UnknownNameError(f"park '{w}' is ambiguous: it could be {', '.join(hit)}; use the park_id")
        else:
            unknown.append(w)
    if unknown:
        shown = ", ".join(sorted(known)[:40]) or "none"
        raise UnknownNameError(
            f"unknown park id(s) {', '.join(repr(u) for u in unknown)}; parks: {shown} "
            "(ids match without case; names without diacritics)"
        )
    return list(dict.fromkeys(out))
