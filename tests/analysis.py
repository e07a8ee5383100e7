"""The assertions every table of script cases (run: scripts, github-script) makes on an Analysis."""

from __future__ import annotations

from collections.abc import Iterable

from transforms.base import Analysis


def scopes(analysis: Analysis) -> set[tuple[str, str]]:
    return {(need.scope, need.level) for need in analysis.needs}


def check(found: Analysis, step: str, needs: set[tuple[str, str]], prefixes: Iterable[str], unknown: str) -> None:
    """Exact scopes, every reason naming the step, each prefix leading some reason; `unknown` ("" = none)
    in every Unknown's reason."""
    assert scopes(found) == needs
    assert all(need.reason.endswith(f'in step "{step}"') for need in found.needs)
    for prefix in prefixes:
        assert any(need.reason.startswith(prefix) for need in found.needs), prefix
    if unknown:
        assert found.unknowns, "expected an Unknown"
        assert all(u.reason.startswith(f'step "{step}": ') and unknown in u.reason for u in found.unknowns)
    else:
        assert found.unknowns == ()
