"""``kcn-gis`` subcommands of this group (none yet)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to the kcn-gis parser."""
