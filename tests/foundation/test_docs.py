"""docs/data-model.md documents every layer, column and enum value with its Vietnamese term."""

from __future__ import annotations

from pathlib import Path

from kcn_gis.schema import (
    ATLAS_LAYERS,
    BANK_LABELS,
    CAPACITY_UNIT_LABELS,
    EVENT_LABELS,
    FACILITY_KIND_LABELS,
    FACILITY_STATUS_LABELS,
    HOLDER_TYPE_LABELS,
    LAND_USE_LABELS,
    PARK_STATUS_LABELS,
)

DOC = (Path(__file__).resolve().parents[2] / "docs" / "data-model.md").read_text(encoding="utf-8")


def test_every_layer_and_column_is_documented_with_vietnamese():
    for name, s in ATLAS_LAYERS.items():
        assert f"### `{name}` — {s.label_vi}" in DOC
        for c in s.columns:
            assert f"| `{c.name}` | {c.label_vi} |" in DOC, c.name


def test_every_enum_value_is_documented_with_vietnamese():
    for table in (
        PARK_STATUS_LABELS,
        LAND_USE_LABELS,
        HOLDER_TYPE_LABELS,
        EVENT_LABELS,
        BANK_LABELS,
        FACILITY_KIND_LABELS,
        FACILITY_STATUS_LABELS,
        CAPACITY_UNIT_LABELS,
    ):
        for value, (vi, en) in table.items():
            assert f"| `{value}` | {vi} | {en} |" in DOC, value
