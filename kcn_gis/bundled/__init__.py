"""The bundled Bắc Ninh 2011 atlas: its cited facts tables, its deterministic builder, and where it is built.

The facts tables (``*.csv`` in this folder, cited in ``data/geo/SOURCES.md`` of the
source repository) and the builder :mod:`kcn_gis.bundled.build_atlas` ship inside
the package, so an installed kcn_gis can build the atlas anywhere. The atlas file
itself is never shipped; it is built once, on first use:

* in a source checkout, into ``data/geo/bac_ninh_2011.gpkg`` (as ``scripts/setup.sh`` does);
* in an installed package, into the user cache directory (``platformdirs``; on Linux
  ``$XDG_CACHE_HOME/kcn_gis``, by default ``~/.cache/kcn_gis``), under a name that
  carries the version and a digest of the facts and the builder, so an upgrade builds
  a fresh file instead of reading a stale one.

:func:`publish` makes the build safe when two processes open the default atlas for
the first time at once: the build is serialised by an advisory lock and written to
a temporary name in the target folder, then renamed into place.

This module only decides paths and publishes files; writing the atlas itself goes
through the store (:func:`kcn_gis.store.build_bundled_atlas`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path

from kcn_gis._version import __version__

__all__ = ["ATLAS_STEM", "FACTS_DIR", "atlas_path", "cache_path", "checkout_path", "facts_digest", "publish"]

log = logging.getLogger(__name__)

#: Folder of the facts tables and the builder (inside the installed package).
FACTS_DIR = Path(__file__).resolve().parent
#: File stem of the bundled atlas.
ATLAS_STEM = "bac_ninh_2011"

_REPO_ROOT = FACTS_DIR.parents[1]


def atlas_path() -> Path:
    """Where the bundled atlas is: ``$KCN_GIS_BUNDLED_ATLAS``, else the checkout's, else the cache file.

    Public as :func:`kcn_gis.store.bundled_atlas_path` (see there); kept here, below the
    store, so that the store's writers can refuse the bundled atlas without importing upwards.
    """
    env = os.environ.get("KCN_GIS_BUNDLED_ATLAS")
    if env:
        return Path(env)
    return checkout_path() or cache_path()


def checkout_path() -> Path | None:
    """Where a source checkout keeps the bundled atlas, or None when kcn_gis is not run from one.

    Returns
    -------
    pathlib.Path or None
        ``<repository>/data/geo/bac_ninh_2011.gpkg`` when the package sits in a
        checkout (beside ``pyproject.toml`` and ``data/geo/SOURCES.md``).
    """
    geo = _REPO_ROOT / "data" / "geo"
    if (_REPO_ROOT / "pyproject.toml").is_file() and (geo / "SOURCES.md").is_file():
        return geo / f"{ATLAS_STEM}.gpkg"
    return None


@lru_cache(maxsize=1)
def facts_digest() -> str:
    """A short digest of the facts tables and the builder (hex, 12 characters).

    Two installs with the same digest build byte-for-byte the same layers.
    """
    h = hashlib.sha256()
    for path in sorted(FACTS_DIR.iterdir()):
        if path.suffix in {".csv", ".py"} and path.is_file():
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:12]


def cache_path() -> Path:
    """Where an installed kcn_gis builds the bundled atlas: the user cache directory.

    Returns
    -------
    pathlib.Path
        ``<user cache dir>/kcn_gis/bac_ninh_2011-<version>-<digest>.gpkg``.
    """
    import platformdirs

    folder = Path(platformdirs.user_cache_dir("kcn_gis", appauthor=False))
    return folder / f"{ATLAS_STEM}-{__version__}-{facts_digest()}.gpkg"


@contextlib.contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    lock_path = path.with_name(f".{path.name}.build.lock")
    with open(lock_path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def publish(path: str | os.PathLike[str], write: Callable[[Path], object], *, replace: bool = False) -> Path:
    """Build a file with ``write`` into a temporary name beside ``path``, then rename it into place.

    Parameters
    ----------
    path : path-like
        The file to publish (its folder is created when missing).
    write : callable
        Called with the temporary path; must write the whole file there.
    replace : bool, default False
        Rebuild even when ``path`` exists. When False and another process built the
        file while this one waited for the lock, its file is kept.

    Returns
    -------
    pathlib.Path
        ``path``.

    Notes
    -----
    Builds are serialised by an advisory lock on ``.<name>.build.lock`` in the same
    folder. The rename is atomic, so a reader sees either no file or a whole one;
    this is meant for freshly built files that nobody holds open for writing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(path):
        if path.exists() and not replace:
            return path
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
        try:
            log.info("building %s", path)
            write(tmp)
            os.replace(tmp, path)
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + ".lock")):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
    return path
