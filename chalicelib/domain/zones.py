"""A doctor's time zone must be a canonical IANA name: what `zoneinfo` lists, without the host-dependent
`localtime`, the placeholder `Factory`, and the `posix/` and `right/` copies (`right/` counts leap seconds,
which puts Python's local times off by the accumulated leap seconds)."""

from __future__ import annotations

from functools import cache

EXCLUDED_NAMES = frozenset({"localtime", "Factory", "posixrules"})
EXCLUDED_PREFIXES = ("posix/", "right/")


@cache
def canonical_zones() -> frozenset[str]:
    """Scanned once per container (about 0.1 s), on the first doctor registration."""
    import zoneinfo

    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if name not in EXCLUDED_NAMES and not name.startswith(EXCLUDED_PREFIXES)
    )


def is_canonical_zone(name: str) -> bool:
    return name in canonical_zones()
