"""Canonical zone names: zoneinfo's list without host- and leap-second-dependent entries."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.zones import canonical_zones, is_canonical_zone


@pytest.mark.parametrize("name", ["localtime", "Factory", "posixrules", "right/America/New_York", "posix/Europe/Paris"])
def test_host_and_copy_names_are_not_canonical(name):
    assert not is_canonical_zone(name)


def test_the_zones_the_product_uses_are_canonical_and_load():
    for name in ("America/New_York", "Australia/Lord_Howe", "Pacific/Chatham", "Pacific/Apia", "UTC"):
        assert is_canonical_zone(name)
        ZoneInfo(name)
    assert not any(n.startswith(("right/", "posix/")) for n in canonical_zones())
