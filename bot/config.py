"""The org config (`ztbot.toml`): typed sections, validated with breadcrumb errors.

Errors name the file and the key path and suggest the closest known key:
`config.toml: rollout.waves[1].repos: expected a list of globs, got "api-*"`.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import tomllib
import types
import typing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from bot.errors import ZtbotError


@dataclass
class GitHubConfig:
    target: Literal["org", "user", "installation"] = "org"
    name: str = ""  # org or user login; unused for "installation"
    base_url: str = "https://api.github.com"  # GitHub Enterprise Server: https://HOST/api/v3
    auth: Literal["token", "app"] = "token"
    token_env: list[str] = field(default_factory=lambda: ["ZTBOT_TOKEN", "GITHUB_TOKEN"])
    app_id: int = 0
    private_key_file: str = ""
    installation_id: int = 0


@dataclass
class SelectConfig:
    include: list[str] = field(default_factory=lambda: ["*"])
    exclude: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)  # when set, a repo needs at least one of them
    visibility: Literal["all", "public", "private", "internal"] = "all"
    archived: bool = False  # include archived repositories (read-only: never gets PRs)
    forks: bool = False


@dataclass
class TransformsConfig:
    enabled: list[str] = field(default_factory=list)  # empty = every registered transform
    allow_repo_overrides: bool = True  # honour .github/ztbot.toml and inline `# ztbot: ignore`
    options: dict[str, dict[str, Any]] = field(default_factory=dict)  # [transforms.<id>] tables


@dataclass
class PRConfig:
    branch: str = "ztbot/zero-trust"
    title: str = "ztbot: Zero Trust fixes for GitHub Actions"
    labels: list[str] = field(default_factory=lambda: ["security", "ztbot"])
    reviewers: list[str] = field(default_factory=list)
    team_reviewers: list[str] = field(default_factory=list)
    draft: Literal["auto", "always", "never"] = "auto"  # auto: draft when a change needs setup
    author_name: str = "ztbot"
    author_email: str = "ztbot@users.noreply.github.com"


@dataclass
class Wave:
    name: str = ""
    transforms: list[str] = field(default_factory=list)
    repos: list[str] = field(default_factory=lambda: ["*"])
    canary_percent: int = 100  # stable hash of the repo name picks this share of matching repos
    not_before: datetime.date | None = None


@dataclass
class RolloutConfig:
    waves: list[Wave] = field(default_factory=list)  # empty = every enabled transform everywhere


@dataclass
class LimitsConfig:
    new_prs_per_run: int = 20
    new_prs_per_hour: int = 60
    open_prs: int = 200  # bot PRs open in the org at once
    write_interval_s: float = 1.0
    max_concurrency: int = 8
    secondary_backoff_cap_s: float = 900.0
    cooldown_days: int = 30  # after a closed PR, a materially different change may be proposed

    def per_shard(self, shards: int) -> LimitsConfig:
        """The PR caps one of `shards` runs may use: each shard keeps its own state and sees only its
        repositories, so the org-wide caps are split (rounded up) rather than granted to every shard."""
        def share(cap: int) -> int:
            return -(-cap // shards)

        return replace(self, new_prs_per_run=share(self.new_prs_per_run),
                       new_prs_per_hour=share(self.new_prs_per_hour), open_prs=share(self.open_prs))


@dataclass
class PathsConfig:
    state: str = ".ztbot/state.json"
    audit: str = ".ztbot/audit.jsonl"
    dry_run: str = ".ztbot/dry-run"


@dataclass
class DashboardConfig:
    repo: str = ""  # owner/name of the repo holding the dashboard issue; empty = off
    title: str = "ztbot: Zero Trust posture"


@dataclass
class BranchProtectionConfig:
    report: bool = True
    enforce: bool = False  # create a ruleset requiring reviews where the bot is admin


@dataclass
class Config:
    github: GitHubConfig = field(default_factory=GitHubConfig)
    select: SelectConfig = field(default_factory=SelectConfig)
    transforms: TransformsConfig = field(default_factory=TransformsConfig)
    pr: PRConfig = field(default_factory=PRConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    dashboard: DashboardConfig = field(default_factory=DashboardConfig)
    branch_protection: BranchProtectionConfig = field(default_factory=BranchProtectionConfig)
    source: str = "<defaults>"


class ConfigError(ZtbotError):
    def __init__(self, source: str, where: str, problem: str, hint: str = "") -> None:
        super().__init__(f"{source}: {where}: {problem}" if where else f"{source}: {problem}",
                         hint or "see config.example.toml for every key, with comments")


def load(path: str | Path) -> Config:
    source = str(path)
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(source, "", f"cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "", f"not valid TOML: {exc}") from None
    return from_dict(raw, source)


def from_dict(raw: dict[str, Any], source: str = "<config>") -> Config:
    transforms = dict(raw.get("transforms", {})) if isinstance(raw.get("transforms"), dict) else raw.get("transforms")
    if isinstance(transforms, dict):
        # [transforms.<id>] tables are free-form options for that transform.
        known = {f.name for f in dataclasses.fields(TransformsConfig)} - {"options"}
        options = {k: transforms.pop(k) for k in list(transforms) if k not in known and isinstance(transforms[k], dict)}
        transforms["options"] = options
        raw = {**raw, "transforms": transforms}
    config = _build(Config, {k: v for k, v in raw.items()}, source, "")
    config.source = source
    return config


def _build(cls: type[Any], raw: Any, source: str, where: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(source, where or "<top>", f"expected a table, got {_show(raw)}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.name != "source"]
    values = {}
    for key, value in raw.items():
        path = f"{where}.{key}" if where else key
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            raise ConfigError(source, path, "unknown key" + (f"; did you mean `{close[0]}`?" if close else ""))
        values[key] = _value(hints[key], value, source, path)
    return cls(**values)


def _value(kind: Any, value: Any, source: str, where: str) -> Any:
    origin = typing.get_origin(kind)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _build(kind, value, source, where)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        return None if value is None else _value(options[0], value, source, where)
    if origin is Literal:
        allowed = typing.get_args(kind)
        if value not in allowed:
            raise ConfigError(source, where, f"expected one of {', '.join(map(repr, allowed))}, got {_show(value)}")
        return value
    if origin is list:
        return _list(typing.get_args(kind)[0], value, source, where)
    if origin is dict or kind is dict:
        if not isinstance(value, dict):
            raise ConfigError(source, where, f"expected a table, got {_show(value)}")
        return value
    return _scalar(kind, value, source, where)


def _list(item: Any, value: Any, source: str, where: str) -> list[Any]:
    if not isinstance(value, list):
        what = "a list of globs" if where.endswith(("repos", "include", "exclude")) else "a list"
        raise ConfigError(source, where, f"expected {what}, got {_show(value)}")
    return [_value(item, v, source, f"{where}[{i}]") for i, v in enumerate(value)]


def _scalar(kind: Any, value: Any, source: str, where: str) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is datetime.date and isinstance(value, datetime.date):
        return value
    if kind is Any or (isinstance(value, kind) and not (kind is int and isinstance(value, bool))):
        return value
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
             datetime.date: "a date (YYYY-MM-DD)"}
    raise ConfigError(source, where, f"expected {names.get(kind, kind.__name__)}, got {_show(value)}")


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def check(cfg: Config, transform_ids: list[str]) -> Config:
    """Checks that need more than types: real transform ids, ranges, required names."""
    def ids(where: str, given: list[str]) -> None:
        for i, tid in enumerate(given):
            if tid not in transform_ids:
                close = difflib.get_close_matches(tid, transform_ids, n=1)
                hint = f"; did you mean `{close[0]}`?" if close else ""
                raise ConfigError(cfg.source, f"{where}[{i}]", f"unknown transform `{tid}`{hint}",
                                  "list them with `ztbot transforms`")

    ids("transforms.enabled", cfg.transforms.enabled)
    for n, wave in enumerate(cfg.rollout.waves):
        ids(f"rollout.waves[{n}].transforms", wave.transforms)
        if not 0 <= wave.canary_percent <= 100:
            raise ConfigError(cfg.source, f"rollout.waves[{n}].canary_percent",
                              f"expected 0 to 100, got {wave.canary_percent}")
    for tid in cfg.transforms.options:
        ids("transforms", [tid])
    if cfg.github.target in ("org", "user") and not cfg.github.name:
        raise ConfigError(cfg.source, "github.name", f"required when github.target = \"{cfg.github.target}\"")
    return cfg
