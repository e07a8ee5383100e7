"""static-secrets: which `secrets.*` uses get a finding, with which service and severity (report only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixture import FIXTURES, load
from transforms.base import Context, Severity
from transforms.static_secrets import RULE, StaticSecrets
from transforms.yamldoc import parse

W, N = Severity.WARNING, Severity.NOTE
# fixture -> {(secret, line): (service, severity)}; anything else reported is a failure.
EXPECTED = {
    "deploy-services": {
        ("CLOUDFLARE_API_TOKEN", 6): ("Cloudflare API token", N),
        ("HEROKU_API_KEY", 16): ("Heroku API key", N),
        ("NETLIFY_AUTH_TOKEN", 25): ("Netlify personal access token", N),
        # line 34: webapps-deploy's `publish-profile` belongs to oidc-azure, which rewrites or refuses it
        ("AZURE_STATIC_WEB_APPS_API_TOKEN", 38): ("Azure Static Web Apps deployment token", W),
    },
    # AWS keys (and their reuse in a script of the same job), the registry login, the publish token and the
    # checkout token belong to other transforms; the install token does not.
    "owned-elsewhere": {("NPM_READ_TOKEN", 28): ("npm access token", W)},
    "not-credentials": {},
    "run-and-services": {
        ("DIGITALOCEAN_ACCESS_TOKEN", 11): ("DigitalOcean API token", N),
        ("DIGITALOCEAN_ACCESS_TOKEN", 13): ("DigitalOcean API token", N),
        ("TF_API_TOKEN", 18): ("HCP Terraform / Terraform Enterprise API token", N),
        ("DOCKER_PASSWORD", 22): ("Docker Hub password or access token", W),
        ("SLACK_WEBHOOK_URL", 26): ("Chat webhook or bot token (Slack, Discord, Teams)", N),
    },
}


def _findings(name: str) -> list:
    case = load(FIXTURES / "static-secrets" / f"{name}.yml")
    return StaticSecrets().detect(parse(case.input), Context(case.path))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_findings(name: str) -> None:
    found = {(f.data["secret"], f.line): (f.data["service"], f.severity) for f in _findings(name)}
    assert found == EXPECTED[name]


def test_every_fixture_has_expectations() -> None:
    assert {p.stem for p in (FIXTURES / "static-secrets").glob("*.yml")} == set(EXPECTED)


def test_findings_name_secret_place_and_reason() -> None:
    for f in _findings("deploy-services"):
        assert f.rule == RULE and not f.fixable
        assert f"secrets.{f.data['secret']}" in f.message and f.data["where"] in f.message
        assert f.data["hint"] in f.message and f.data["source"]


def test_explain_is_a_table_and_apply_never_edits() -> None:
    found = _findings("deploy-services")
    text = StaticSecrets().explain(found)
    assert text.count("\n| `") == len(found)
    case = load(FIXTURES / "static-secrets" / "deploy-services.yml")
    assert StaticSecrets().apply(parse(case.input), Context(case.path), found) == []
    assert Path(__file__).exists()
