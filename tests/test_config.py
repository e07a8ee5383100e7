"""The org config: the example loads, documents every key, and bad input gets breadcrumb errors."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from bot import config
from bot.config import Config, ConfigError, from_dict, load
from transforms.registry import TRANSFORMS

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"


def test_example_loads() -> None:
    cfg = load(EXAMPLE)
    assert cfg.github.name == "acme"
    assert cfg.rollout.waves[1].canary_percent == 10
    assert cfg.transforms.options["permissions"]["top_level"] == {"contents": "read"}


def _fields(cls: type, prefix: str = "") -> list[str]:
    out = []
    for f in dataclasses.fields(cls):
        if f.name in ("source", "options"):
            continue
        kind = cls.__annotations__.get(f.name, "")
        nested = getattr(config, str(kind), None)
        if dataclasses.is_dataclass(nested):
            out += _fields(nested, f"{prefix}{f.name}.")
        else:
            out.append(f"{prefix}{f.name}")
    return out


def test_example_documents_every_key() -> None:
    text = EXAMPLE.read_text()
    missing = [k for k in _fields(Config) if not re.search(rf"^\s*#?\s*{re.escape(k.split('.')[-1])}\s*=", text, re.M)
               and not k.endswith("waves")]
    assert not missing


def test_example_options_name_real_transforms() -> None:
    cfg = load(EXAMPLE)
    for tid in cfg.transforms.options:
        assert tid in TRANSFORMS, tid


@pytest.mark.parametrize(("raw", "message"), [
    ({"rollout": {"waves": [{"name": "a"}, {"name": "b", "repos": "api-*"}]}},
     'config.toml: rollout.waves[1].repos: expected a list of globs, got "api-*"'),
    ({"githb": {}}, "config.toml: githb: unknown key; did you mean `github`?"),
    ({"pr": {"draft": "maybe"}}, "config.toml: pr.draft: expected one of 'auto', 'always', 'never', got \"maybe\""),
    ({"limits": {"open_prs": True}}, "config.toml: limits.open_prs: expected an integer, got true"),
    ({"select": {"include": ["*"], "exclud": []}}, "config.toml: select.exclud: unknown key; did you mean `exclude`?"),
])
def test_breadcrumb_errors(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_dict(raw, "config.toml")
    assert err.value.message == message


def test_unreadable_and_invalid_toml(tmp_path: Path) -> None:
    bad = tmp_path / "ztbot.toml"
    bad.write_text("[github\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "missing.toml")


def test_semantic_checks() -> None:
    ids = list(TRANSFORMS)
    with pytest.raises(ConfigError, match=r"rollout.waves\[0\].transforms\[0\]: unknown transform `permisions`; "
                                          "did you mean `permissions`"):
        config.check(from_dict({"github": {"name": "a"}, "rollout": {"waves": [{"transforms": ["permisions"]}]}}), ids)
    with pytest.raises(ConfigError, match="canary_percent: expected 0 to 100"):
        config.check(from_dict({"github": {"name": "a"}, "rollout": {"waves": [{"canary_percent": 101}]}}), ids)
    with pytest.raises(ConfigError, match=r"github\.name: required"):
        config.check(from_dict({}), ids)
    assert config.check(load(EXAMPLE), ids)
