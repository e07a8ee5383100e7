"""oidc-azure beyond the fixtures: what the PR asks the owner to do, and jobs judged together."""

from __future__ import annotations

from tests.fixture import FIXTURES, load
from transforms.base import Context
from transforms.oidc_azure import OidcAzure
from transforms.yamldoc import parse


def _explain(case: str) -> str:
    fixture = load(FIXTURES / "oidc-azure" / f"{case}.yml")
    transform = OidcAzure()
    return transform.explain(transform.detect(parse(fixture.input), Context(fixture.path, repo="acme/web")))


def test_publish_profile_explain_names_credential_role_and_cleanup() -> None:
    text = _explain("publish-profile-webapp")
    assert "add one federated credential" in text and "repo:acme/web:environment:Production" in text
    assert "Website Contributor" in text and "Microsoft.Web/sites/<APP_NAME>" in text
    assert "delete the publish profile secret(s)" in text and "Basic Auth Publishing Credentials" in text
    assert "AZUREAPPSERVICE_PUBLISHPROFILE_45ACFF92" in text
    # A publish profile names no app registration: nothing may point at an old `clientId`.
    assert "whose `clientId` is in the old secret" not in text and "in the old JSON" not in text


def test_creds_explain_keeps_the_old_registration() -> None:
    text = _explain("creds-secret")
    assert "whose `clientId` is in the old secret" in text and "Website Contributor" not in text


def test_shared_workflow_env_refusal_names_the_blocking_job() -> None:
    fixture = load(FIXTURES / "oidc-azure" / "refuse-terraform-workflow-env-shared.yml")
    found = OidcAzure().detect(parse(fixture.input), Context(fixture.path))
    by_job = {f.data["job"]: f.message for f in found}
    assert not any(f.fixable for f in found)
    assert "job `smoke` keeps it (ARM_CLIENT_SECRET at env reaches no terraform step)" in by_job["apply"]
