"""Online pin resolution: one API lookup per action reference a week, failures never cached."""

from __future__ import annotations

import datetime

from bot.errors import ZtbotError
from bot.pinresolver import PinResolver

SHA = "a" * 40


class FakeClient:
    def __init__(self, answers: dict[str, str | Exception | None]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def commit_for(self, repo: str, ref: str) -> str | None:
        self.calls.append(f"{repo}@{ref}")
        answer = self.answers[f"{repo}@{ref}"]
        if isinstance(answer, Exception):
            raise answer
        return answer


class Clock:
    def __init__(self) -> None:
        self.at = datetime.datetime(2026, 11, 26, tzinfo=datetime.UTC)

    def __call__(self) -> datetime.datetime:
        return self.at


def test_resolves_once_and_serves_from_the_state_cache() -> None:
    client, cache, clock = FakeClient({"acme/act@v1": SHA}), {}, Clock()
    resolver = PinResolver(client, cache, clock)
    assert resolver("acme/act", "v1") == (SHA, "v1")
    assert resolver("Acme/Act", "v1") == (SHA, "v1")
    assert client.calls == ["acme/act@v1"] and cache["acme/act@v1"][0] == SHA
    assert PinResolver(client, cache, clock)("acme/act", "v1") == (SHA, "v1")  # next run, same state
    assert len(client.calls) == 1


def test_entries_expire_because_tags_move() -> None:
    client, cache, clock = FakeClient({"acme/act@v1": SHA}), {}, Clock()
    resolver = PinResolver(client, cache, clock)
    resolver("acme/act", "v1")
    clock.at += datetime.timedelta(days=8)
    client.answers["acme/act@v1"] = "b" * 40
    assert resolver("acme/act", "v1") == ("b" * 40, "v1")


def test_unknown_refs_are_cached_but_failures_are_not() -> None:
    client = FakeClient({"acme/gone@v9": None, "acme/flaky@v1": ZtbotError("rate limited")})
    cache: dict[str, list[str]] = {}
    resolver = PinResolver(client, cache, Clock())
    assert resolver("acme/gone", "v9") is None and cache["acme/gone@v9"][0] == ""
    assert resolver("acme/gone", "v9") is None and client.calls.count("acme/gone@v9") == 1
    assert resolver("acme/flaky", "v1") is None and "acme/flaky@v1" not in cache
    assert resolver("acme/flaky", "v1") is None and client.calls.count("acme/flaky@v1") == 2
