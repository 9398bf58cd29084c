"""Settings read from the environment: each variable the code needs has its one field."""

from __future__ import annotations

from chalicelib.config import Settings


def test_the_websocket_url_is_read_into_the_settings():
    # GIVEN the WebSocket URL in the environment WHEN settings are read THEN they carry it
    assert Settings.from_env({"WEBSOCKET_URL": "wss://ws.example/api"}).websocket_url == "wss://ws.example/api"


def test_an_empty_websocket_url_is_none():
    # GIVEN it unset or empty WHEN read THEN there is none (tickets name no URL)
    assert Settings.from_env({}).websocket_url is None
    assert Settings.from_env({"WEBSOCKET_URL": ""}).websocket_url is None
