"""The bundle parser takes untrusted files: anything that is not a bundle is refused with
`MalformedInput`, never another exception."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainledger.errors import MalformedInput
from wallet.bundle import FORMAT, MAX_BUNDLE_BYTES, Bundle

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=20,
)  # fmt: skip


@given(st.text(max_size=300) | st.binary(max_size=300))
def test_arbitrary_text_is_refused_cleanly(text: Any) -> None:
    with pytest.raises(MalformedInput):
        Bundle.parse(text)


@given(JSON, JSON, JSON, JSON)
def test_bundle_shaped_json_is_refused_cleanly(
    cp: Any, grant: Any, secret: Any, assets: Any
) -> None:
    doc = {"format": FORMAT, "checkpoint": cp, "grant": grant, "secret": secret, "assets": assets}
    with pytest.raises(MalformedInput):
        Bundle.parse(json.dumps(doc))


def test_oversize_is_refused_before_parsing() -> None:
    with pytest.raises(MalformedInput, match="too large"):
        Bundle.parse(" " * (MAX_BUNDLE_BYTES + 1))
