"""``python -m kcn_gis`` runs the ``kcn-gis`` command line."""

from kcn_gis.cli import console

console()
