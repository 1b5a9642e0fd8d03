"""The inbox search names a label as ``label:name`` (quoted when the name has spaces)."""

from __future__ import annotations

import pytest

from chatapp.labels import label_in_search


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("label:billing", ("billing", "")),
        ("refund label:Billing  late", ("Billing", "refund late")),
        ('label:"Late delivery" parcel', ("Late delivery", "parcel")),
        ("LABEL:vip", ("vip", "")),
        ("labels:x relabel:y", (None, "labels:x relabel:y")),
        ("parcel label:", (None, "parcel label:")),
    ],
)
def test_a_search_names_a_label(search: str, expected: tuple[str | None, str]) -> None:
    assert label_in_search(search) == expected
