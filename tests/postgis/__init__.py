"""PostGIS store tests (and the backend fixtures shared with the rest of the suite)."""
