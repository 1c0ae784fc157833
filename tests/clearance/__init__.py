"""Tests of kcn_gis.clearance (a package, so that module names never clash with other test folders)."""
