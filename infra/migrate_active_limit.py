"""One-off, after deploying the release that keeps each patient's active bookings in one set: counts the visits of
the earlier per-slot items (`N#<k>`) in their patients' sets and deletes those items
(`active_limit.fold_legacy_items`). Run once with the stage's table configuration, e.g.
`TABLE_PREFIX=clinic-prod AWS_REGION=us-east-1 .venv/bin/python -m infra.migrate_active_limit`; a second run
finds nothing to fold."""

from __future__ import annotations

from chalicelib.adapters.dynamodb.active_limit import fold_legacy_items
from chalicelib.adapters.dynamodb.models import bind
from chalicelib.adapters.system import SystemClock
from chalicelib.config import Settings


def main() -> int:
    folded = fold_legacy_items(bind(Settings.from_env()), SystemClock().now())
    print(f"{folded} per-slot active-booking items folded into their patients' sets")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
