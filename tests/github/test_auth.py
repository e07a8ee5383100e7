"""Credentials: tokens from the environment, GitHub App installations, endpoints, and redaction."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.config import GitHubConfig, LimitsConfig
from bot.github import (
    AuthError,
    FakeClock,
    RedactingFilter,
    Secret,
    connect,
    graphql_url,
    redact,
    token_from_env,
)
from bot.standin import StandIn
from tests.github.conftest import WORKFLOW

APP_ID = 4242


@pytest.mark.parametrize(("base", "expected"), [
    ("https://api.github.com", "https://api.github.com/graphql"),
    ("https://api.github.com/", "https://api.github.com/graphql"),
    ("https://ghe.example.com/api/v3", "https://ghe.example.com/api/graphql"),
    ("https://ghe.example.com/api/v3/", "https://ghe.example.com/api/graphql"),
    ("http://127.0.0.1:8080/api/v3", "http://127.0.0.1:8080/api/graphql"),
])
def test_graphql_url(base: str, expected: str) -> None:
    assert graphql_url(base) == expected


def test_token_comes_from_the_first_set_variable() -> None:
    cfg = GitHubConfig()
    assert token_from_env(cfg, {"GITHUB_TOKEN": "ghp_second", "ZTBOT_TOKEN": ""}).reveal() == "ghp_second"
    assert token_from_env(cfg, {"GITHUB_TOKEN": "b", "ZTBOT_TOKEN": "a"}).reveal() == "a"
    with pytest.raises(AuthError, match="none of ZTBOT_TOKEN, GITHUB_TOKEN is set"):
        token_from_env(cfg, {})


def test_secret_never_shows_itself() -> None:
    secret = Secret("ghp_" + "x" * 36)
    assert "xxxx" not in repr(secret) and "xxxx" not in str(secret) and "xxxx" not in f"{secret}"
    assert secret.reveal().startswith("ghp_")
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(secret)


def test_redaction_masks_registered_values_and_token_shapes() -> None:
    Secret("plain-secret-value")
    text = ("a plain-secret-value b ghs_" + "A" * 36 + " c github_pat_" + "1" * 40
            + " d eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjQyNDJ9.c2lnbmF0dXJl")
    assert redact(text) == "a *** b *** c *** d ***"


def test_redacting_filter_on_a_handler() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "auth %s", ("ghp_" + "z" * 36,), None)
    assert RedactingFilter().filter(record) and record.getMessage() == "auth ***"


# -- GitHub App -------------------------------------------------------------------------------------
@pytest.fixture
def app_key(tmp_path: Path) -> tuple[Path, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    path = tmp_path / "app.pem"
    path.write_text(pem)
    return path, public


@pytest.fixture
def app_standin(tmp_path: Path, app_key: tuple[Path, str]) -> Iterator[StandIn]:
    gh = StandIn(tmp_path / "app-standin", app_id=APP_ID, app_public_key=app_key[1]).start()
    gh.add_org("acme")
    gh.create_repo("acme", "app", {".github/workflows/ci.yml": WORKFLOW})
    gh.create_repo("acme", "hidden", {".github/workflows/ci.yml": WORKFLOW})
    gh.create_repo("other", "x", {"a": "b"})
    yield gh
    gh.stop()


def app_config(gh: StandIn, key: Path, **fields: object) -> GitHubConfig:
    return GitHubConfig(auth="app", app_id=APP_ID, private_key_file=str(key), base_url=gh.api_url, **fields)


def test_app_installation_lists_what_it_can_see(app_standin: StandIn, app_key: tuple[Path, str]) -> None:
    inst = app_standin.add_installation("acme", repositories=["app"])
    cfg = app_config(app_standin, app_key[0], target="installation", installation_id=inst)
    with connect(cfg, LimitsConfig(), FakeClock()) as client:
        repos = client.list_repos()
        assert [r.full_name for r in repos] == ["acme/app"]
        [files] = client.fetch_files(repos)
        assert files.files == {".github/workflows/ci.yml": WORKFLOW}
    assert app_standin.count("POST", f"/app/installations/{inst}/access_tokens$") == 1  # one token, reused


def test_app_installation_found_by_org_name(app_standin: StandIn, app_key: tuple[Path, str]) -> None:
    inst = app_standin.add_installation("acme")
    with connect(app_config(app_standin, app_key[0], name="acme"), LimitsConfig(), FakeClock()) as client:
        assert {r.name for r in client.list_repos()} == {"app", "hidden"}
    assert app_standin.count("GET", "^/api/v3/orgs/acme/installation$") == 1
    assert app_standin.count("POST", f"/app/installations/{inst}/access_tokens$") == 1


def test_installation_token_is_renewed_when_it_expires(app_standin: StandIn, app_key: tuple[Path, str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime

    import github.Auth

    inst = app_standin.add_installation("acme")
    # Treat every token as about to expire, as PyGithub does in the last minutes of its hour.
    monkeypatch.setattr(github.Auth, "TOKEN_REFRESH_THRESHOLD_TIMEDELTA", datetime.timedelta(days=1))
    cfg = app_config(app_standin, app_key[0], name="acme", installation_id=inst)
    with connect(cfg, LimitsConfig(), FakeClock()) as client:
        client.list_repos()
        client.get_file("acme/app", ".github/workflows/ci.yml")
    assert app_standin.count("POST", f"/app/installations/{inst}/access_tokens$") >= 2


def test_a_wrong_key_is_refused(app_standin: StandIn, tmp_path: Path) -> None:
    inst = app_standin.add_installation("acme")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (tmp_path / "other.pem").write_bytes(other)
    cfg = app_config(app_standin, tmp_path / "other.pem", name="acme", installation_id=inst)
    with connect(cfg, LimitsConfig(), FakeClock()) as client, pytest.raises(AuthError) as err:
        client.list_repos()
    assert err.value.status == 401 and "BEGIN" not in str(err.value)


def test_missing_key_file_is_an_auth_error(tmp_path: Path) -> None:
    cfg = GitHubConfig(auth="app", app_id=1, private_key_file=str(tmp_path / "nope.pem"), installation_id=1)
    with pytest.raises(AuthError, match="cannot read the app's private key"):
        connect(cfg)
    with pytest.raises(AuthError, match=r"needs github\.app_id"):
        connect(GitHubConfig(auth="app"))
