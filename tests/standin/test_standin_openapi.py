"""Every operation in GitHub's OpenAPI subset, answered by the stand-in, validates against its schema."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

from bot.standin import StandIn
from bot.standin.openapi_check import OpenApi, validate_request

SPEC = "github-api/rest-openapi-subset.json"


@pytest.fixture
def openapi(shared_dir: Path) -> OpenApi:
    return OpenApi(shared_dir / SPEC)


def app_jwt(app_id: int) -> tuple[str, str]:
    """(public key PEM, a fresh RS256 JWT) for a throwaway GitHub App key."""
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    now = int(time.time())
    return public, jwt.encode({"iat": now - 60, "exp": now + 540, "iss": str(app_id)}, key, algorithm="RS256")


class Caller:
    """Calls the stand-in, validates request and response against the description, records coverage."""

    def __init__(self, gh: StandIn, openapi: OpenApi) -> None:
        self.gh, self.openapi = gh, openapi
        self.covered: set[tuple[str, str]] = set()

    def __call__(self, method: str, path: str, token: str, body: Any = None, status: int = 200) -> Any:
        if body is not None:
            self.openapi.validate_request(method, path, body)
        response = requests.request(
            method,
            self.gh.api_url + path,
            json=body,
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == status, (method, path, response.text[:500])
        data = response.json() if response.content else None
        self.openapi.validate_response(method, path, status, data)
        self.covered.add((method, self.openapi.find(method, path)[0]))
        return data


def test_every_operation_validates(tmp_path: Path, openapi: OpenApi) -> None:
    public, jwt_token = app_jwt(7)
    with StandIn(tmp_path / "r", app_id=7, app_public_key=public) as gh:
        gh.create_repo(
            "acme",
            "app",
            {"README.md": "x\n", ".github/workflows/ci.yml": "on: push\n"},
            secrets=["TOKEN"],
            variables={"A": "b"},
        )
        inst = gh.add_installation("acme")
        call = Caller(gh, openapi)
        _exercise(gh, call, gh.add_token("alice"), jwt_token, inst)
    missing = set(openapi.operations()) - call.covered
    assert not missing, f"operations without a validated stand-in response: {sorted(missing)}"


def _exercise(gh: StandIn, call: Caller, tok: str, jwt_token: str, inst: int) -> None:
    call("GET", "/app", jwt_token)
    installation_token = call("POST", f"/app/installations/{inst}/access_tokens", jwt_token, {}, 201)["token"]
    call("GET", "/installation/repositories", installation_token)
    call("GET", "/orgs/acme/installation", jwt_token)
    call("GET", "/repos/acme/app/installation", jwt_token)
    call("GET", "/orgs/acme/repos", tok)
    call("GET", "/users/acme/repos", tok)
    call("GET", "/rate_limit", tok)
    call("GET", "/repos/acme/app", tok)
    call("GET", "/repos/acme/app", tok)
    call("GET", "/repos/acme/missing", tok, status=404)
    call("GET", "/repos/acme/app/contents/.github/workflows/ci.yml", tok)
    call("GET", "/repos/acme/app/contents/.github/workflows", tok)
    call("GET", "/repos/acme/app/actions/secrets", tok)
    call("GET", "/repos/acme/app/actions/variables", tok)
    call("GET", "/repos/acme/app/actions/permissions/workflow", tok)
    main = call("GET", "/repos/acme/app/branches/main", tok)["commit"]["sha"]
    call("GET", f"/repos/acme/app/commits/{main}", tok)
    call("GET", f"/repos/acme/app/git/trees/{main}?recursive=1", tok)
    call("GET", "/repos/acme/app/git/ref/heads/main", tok)
    call("POST", "/repos/acme/app/git/refs", tok, {"ref": "refs/heads/tmp", "sha": main}, 201)
    call("POST", "/repos/acme/app/git/refs", tok, {"ref": "refs/heads/tmp", "sha": main}, 422)
    fix = gh.commit("acme", "app", {".github/workflows/ci.yml": "on: pull_request\n"}, branch="fix")
    call("PATCH", "/repos/acme/app/git/refs/heads/tmp", tok, {"sha": fix, "force": False})
    call("DELETE", "/repos/acme/app/git/refs/heads/tmp", tok, status=204)
    gh.set_branch_protection(
        "acme", "app", "main", {"enabled": True, "enforce_admins": {"url": "u", "enabled": True}}
    )
    call("GET", "/repos/acme/app/branches/main/protection", tok)
    gh.add_ruleset(
        "acme",
        "app",
        {
            "name": "r",
            "rules": [{"type": "non_fast_forward"}, {"type": "pull_request", "parameters": _pr_params()}],
        },
    )
    call("GET", "/repos/acme/app/rules/branches/main", tok)
    _pulls_and_issues(call, tok)


def _pr_params() -> dict[str, Any]:
    return {
        "dismiss_stale_reviews_on_push": False,
        "require_code_owner_review": False,
        "require_last_push_approval": False,
        "required_approving_review_count": 1,
        "required_review_thread_resolution": False,
    }


def _pulls_and_issues(call: Caller, tok: str) -> None:
    call(
        "POST",
        "/repos/acme/app/pulls",
        tok,
        {"title": "Fix", "head": "fix", "base": "main", "body": "b"},
        201,
    )
    call("POST", "/repos/acme/app/pulls", tok, {"title": "Fix", "head": "fix", "base": "main"}, 422)
    call("GET", "/repos/acme/app/pulls?state=open&head=acme:fix", tok)
    call("GET", "/repos/acme/app/pulls/1", tok)
    call("POST", "/repos/acme/app/pulls/1/requested_reviewers", tok, {"reviewers": ["octocat"]}, 201)
    call("POST", "/repos/acme/app/issues/1/labels", tok, ["security"])
    call("POST", "/repos/acme/app/issues/1/labels", tok, {"labels": ["ztbot"]})
    call("POST", "/repos/acme/app/issues/1/comments", tok, {"body": "hello"}, 201)
    call("PATCH", "/repos/acme/app/pulls/1", tok, {"state": "closed"})
    call("POST", "/repos/acme/app/issues", tok, {"title": "Rollout", "labels": ["ztbot"]}, 201)
    call("GET", "/repos/acme/app/issues?state=all", tok)
    call("PATCH", "/repos/acme/app/issues/2", tok, {"state": "closed", "state_reason": "completed"})
    call("GET", "/search/issues?q=repo:acme/app+is:pr", tok)


def test_validate_request_flags_bad_bodies(shared_dir: Path) -> None:
    spec = shared_dir / SPEC
    validate_request("POST", "/api/v3/repos/o/r/pulls", {"title": "t", "head": "h", "base": "main"}, spec)
    with pytest.raises(jsonschema.ValidationError):
        validate_request("POST", "/repos/o/r/pulls", {"title": "t", "head": 3, "base": "main"}, spec)
    with pytest.raises(jsonschema.ValidationError):
        validate_request("PATCH", "/repos/o/r/pulls/1", {"state": "merged"}, spec)
    validate_request("POST", "/repos/o/r/issues/1/labels", ["bare", "array"], spec)  # what PyGithub sends


def test_contents_payload_decodes(seeded: StandIn, auth: dict[str, str], shared_dir: Path) -> None:
    body = requests.get(
        f"{seeded.api_url}/repos/acme/lib/contents/src/lib.py", headers=auth, timeout=10
    ).json()
    OpenApi(shared_dir / SPEC).validate_response("GET", "/repos/acme/lib/contents/src/lib.py", 200, body)
    assert base64.b64decode(body["content"]) == b"x = 1\n"
