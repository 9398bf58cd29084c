"""The appointments table's stream, emulated for tests of the waitlist on moto or DynamoDB Local: each `records()`
hands every item changed since the last call (old and new image, as DynamoDB Streams with NEW_AND_OLD_IMAGES
would), in the stream's record shape."""

from __future__ import annotations

from typing import Any


class StreamTap:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table
        self._seen = self._items()
        self._seq = 0

    def _items(self) -> dict[str, dict[str, Any]]:
        items: dict[str, dict[str, Any]] = {}
        for page in self._client.get_paginator("scan").paginate(TableName=self._table, ConsistentRead=True):
            for item in page["Items"]:
                items[item["id"]["S"]] = item
        return items

    def records(self) -> list[dict[str, Any]]:
        now = self._items()
        out = []
        for key in sorted(self._seen.keys() | now.keys()):
            old, new = self._seen.get(key), now.get(key)
            if old == new:
                continue
            self._seq += 1
            change: dict[str, Any] = {"Keys": {"id": {"S": key}}, "SequenceNumber": str(self._seq), "SizeBytes": 1}
            change["StreamViewType"] = "NEW_AND_OLD_IMAGES"
            if old:
                change["OldImage"] = old
            if new:
                change["NewImage"] = new
            name = "INSERT" if old is None else ("REMOVE" if new is None else "MODIFY")
            out.append({"eventID": str(self._seq), "eventName": name, "dynamodb": change})
        self._seen = now
        return out
