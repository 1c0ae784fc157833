"""``python -m kcn_gis`` runs the ``kcn-gis`` command line."""

import sys

from kcn_gis.cli import main

sys.exit(main())
