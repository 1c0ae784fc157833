"""The ``kcn-gis`` command line: thin wrappers that parse, call the library and print or write.

Each subcommand group lives in its own module with a ``register(subparsers)``
function; this module only assembles them, adds the options every command has
(``--quiet``, ``--verbose``) and turns errors into readable messages and exit
codes, in one place (:func:`exit_code`, documented in ``docs/cli.md``):

* 0 - success;
* 1 - a problem in the data: validation errors, a refused import, an invalid atlas;
* 2 - a usage mistake: a wrong, missing or conflicting option;
* 3 - a runtime failure: the database is unreachable, a file cannot be read or
  written, an optional dependency is missing.

A broken pipe (``kcn-gis fill-rates | head -1``) ends quietly with status 141,
as other Unix tools do.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from types import ModuleType

from kcn_gis.errors import ConcurrencyError, KcnGisError, MissingDependencyError, StoreError

__all__ = ["EXIT_DATA", "EXIT_OK", "EXIT_RUNTIME", "EXIT_USAGE", "build_parser", "exit_code", "main"]

EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_RUNTIME = 3
#: Status of a command whose reader went away (128 + SIGPIPE), as ``cat`` or ``grep`` end.
EXIT_BROKEN_PIPE = 141


def _modules() -> tuple[ModuleType, ...]:
    """The subcommand modules, in the order their commands appear in ``--help``."""
    from kcn_gis.cli import analytics, clearance, db, interop, maps, report, reports, run, scenario, services, validate

    mods: list[ModuleType] = [
        run,
        validate,
        report,
        analytics,
        clearance,
        maps,
        scenario,
        services,
        reports,
        interop,
        db,
    ]
    from kcn_gis.cli import qgis

    mods.insert(mods.index(interop) + 1, qgis)  # ``qgis-project``
    return tuple(mods)


def leaf_parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every runnable command of ``parser`` as ``(("clearance", "progress"), subparser)``, in help order."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for action in subs:
        for name, child in action.choices.items():
            yield from leaf_parsers(child, (*path, name))


def _add_common(p: argparse.ArgumentParser) -> None:
    """``-q/--quiet`` and ``-v/--verbose`` on one command (default SUPPRESS: the top-level ``-v`` counts too)."""
    known = set(p._option_string_actions)
    if "--quiet" not in known:
        p.add_argument(
            "-q",
            "--quiet",
            action="store_true",
            default=argparse.SUPPRESS,
            help="no progress bars and no informational messages (results and errors are still printed)",
        )
    if "--verbose" not in known:
        p.add_argument(
            "-v",
            "--verbose",
            action="count",
            default=argparse.SUPPRESS,
            help="log more (-v info and tracebacks of errors, -vv debug)",
        )


def build_parser() -> argparse.ArgumentParser:
    from kcn_gis._version import __version__

    parser = argparse.ArgumentParser(
        prog="kcn-gis",
        description="Geospatial planning of industrial parks (khu công nghiệp) in Bắc Ninh. "
        "Every command works on an atlas (--atlas): a GeoPackage (default: the bundled Bắc Ninh 2011 atlas) "
        "or a postgresql:// URL. Conventions (formats, dates, exit codes): docs/cli.md. Exit codes: 0 success, "
        "1 problems in the data, 2 usage mistakes, 3 runtime failures.",
    )
    parser.add_argument("--version", action="version", version=f"kcn-gis {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="log more (-v info, -vv debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _modules():
        module.register(sub)
    for _, leaf in leaf_parsers(parser):
        _add_common(leaf)
    return parser


def _is_database_error(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in ("psycopg", "psycopg2")


def exit_code(exc: BaseException) -> int:
    """The exit code for an error: the one mapping of the error hierarchy (``kcn_gis.errors``) to codes.

    * :class:`~kcn_gis.cli._common.UsageError` -> 2;
    * :class:`~kcn_gis.errors.MissingDependencyError`, :class:`~kcn_gis.errors.StoreError`
      (atlas cannot be opened, read or written; database unreachable), other ``OSError``
      and database driver errors -> 3;
    * :class:`~kcn_gis.errors.ConcurrencyError` (a write refused because someone else changed
      the data) and every other :class:`~kcn_gis.errors.KcnGisError` (schema, CRS, input file,
      clearance, scenario ...) -> 1.
    """
    from kcn_gis.cli._common import UsageError

    if isinstance(exc, UsageError):
        return EXIT_USAGE
    if isinstance(exc, MissingDependencyError):
        return EXIT_RUNTIME
    if isinstance(exc, ConcurrencyError):
        return EXIT_DATA
    if isinstance(exc, StoreError):
        return EXIT_RUNTIME
    if isinstance(exc, KcnGisError):
        return EXIT_DATA
    if isinstance(exc, OSError) or _is_database_error(exc):
        return EXIT_RUNTIME
    return EXIT_RUNTIME


def _message(exc: BaseException) -> str:
    if isinstance(exc, KcnGisError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    text = str(exc).strip() or "unexpected failure"
    if _is_database_error(exc):
        return f"database: {text}"
    return text


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the interpreter's final flush is silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover - stdout without a file descriptor
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``kcn-gis`` command line and return its exit code."""
    from kcn_gis import memory, progress
    from kcn_gis.cli._common import context

    memory.small_pages_for_numpy()  # a short process: see there

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage mistakes (2): argparse printed the message
        return int(exc.code) if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    verbose = int(getattr(args, "verbose", 0) or 0)
    args.verbose = verbose
    args.quiet = bool(getattr(args, "quiet", False))
    progress.set_quiet(args.quiet)
    if "format" in vars(args) and args.format is None:
        from kcn_gis.cli._common import output_format

        args.format = output_format(args)
    words = [args.command] + [str(v) for k, v in vars(args).items() if k.endswith("_command") and isinstance(v, str)]
    name = " ".join(words)
    context.clear()
    context.update(
        quiet=args.quiet,
        bom=bool(getattr(args, "bom", False)),
        command=f"kcn-gis {' '.join(sys.argv[1:] if argv is None else argv)}",
        sheet="_".join(words).replace("-", "_"),
    )
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:  # pragma: no cover - interactive
        print("interrupted; nothing was half-written", file=sys.stderr)
        return 130
    except Exception as exc:
        expected = isinstance(exc, KcnGisError | OSError) or _is_database_error(exc)
        if not expected:
            raise  # a bug: Python's own traceback and exit status
        if verbose:
            traceback.print_exc(file=sys.stderr)
        print(f"kcn-gis {name}: error: {_message(exc)}", file=sys.stderr)
        return exit_code(exc)


def console() -> None:
    """The ``kcn-gis`` console entry point: :func:`main`, then a quick exit.

    Once a command has finished and written its output, the interpreter's own teardown (freeing every
    module and the command's arrays one by one) took about 0.1 s after a 1M-parcel command here, close
    to a tenth of the whole ``clearance progress`` run. So the exit handlers run as usual (``atexit``,
    which also runs pending ``weakref.finalize`` callbacks and ``logging.shutdown``), the standard
    streams are flushed, and the process ends without the teardown. If a thread of the command is
    still running, the interpreter exits normally and waits for it.
    """
    import atexit
    import contextlib
    import threading

    code = main()
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed or broken pipe: nothing more can be written
            stream.flush()
    os._exit(code)
