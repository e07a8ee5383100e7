"""Apps and installations, accounts, rate limit, rules/rulesets, branch protection, Actions settings."""

from __future__ import annotations

import fnmatch
import time
from typing import TYPE_CHECKING, Any

from bot.standin import shapes
from bot.standin.rest import repo_meta, require_branch
from bot.standin.state import RATE_RESOURCES, Installation, now_iso
from bot.standin.web import ApiError, Ctx, Response, Router, not_found, paged, validation_failed

if TYPE_CHECKING:
    from bot.standin.server import StandIn

router = Router()
DOC_APPS = "https://docs.github.com/rest/apps/apps"


def _require_jwt(ctx: Ctx) -> None:
    if ctx.token is None or ctx.token.kind != "jwt":
        raise ApiError(401, "A JSON web token could not be decoded", doc=DOC_APPS)


def installation_body(gh: StandIn, inst: Installation) -> dict[str, Any]:
    ident, kind = gh.state.account(inst.account)
    return {
        "id": inst.id,
        "account": shapes.user(gh, inst.account),
        "app_id": inst.app_id,
        "app_slug": inst.app_slug,
        "client_id": f"Iv1.{inst.app_id:016x}",
        "target_id": ident,
        "target_type": kind,
        "repository_selection": "all" if inst.repositories is None else "selected",
        "access_tokens_url": f"{gh.api_url}/app/installations/{inst.id}/access_tokens",
        "repositories_url": f"{gh.api_url}/installation/repositories",
        "html_url": f"{gh.url}/organizations/{inst.account}/settings/installations/{inst.id}",
        "permissions": dict(inst.permissions),
        "events": ["pull_request", "push"],
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "created_at": now_iso(0),
        "updated_at": now_iso(0),
        "suspended_by": None,
        "suspended_at": None,
    }


@router.route("GET", "/app")
def get_app(ctx: Ctx) -> dict[str, Any]:
    _require_jwt(ctx)
    gh = ctx.gh
    return {
        "id": gh.app_id,
        "slug": gh.app_slug,
        "node_id": shapes.node_id("App", gh.app_id),
        "client_id": f"Iv1.{gh.app_id:016x}",
        "owner": shapes.user(gh, next(iter(gh.state.accounts), "ztbot")),
        "name": gh.app_slug,
        "description": "ztbot stand-in app",
        "external_url": gh.url,
        "html_url": f"{gh.url}/apps/{gh.app_slug}",
        "created_at": now_iso(0),
        "updated_at": now_iso(0),
        "permissions": {
            "contents": "write",
            "pull_requests": "write",
            "workflows": "write",
            "metadata": "read",
        },
        "events": ["pull_request", "push"],
        "installations_count": len(gh.state.installations),
    }


@router.route("GET", "/app/installations")
def list_installations(ctx: Ctx) -> Response:
    _require_jwt(ctx)
    return paged(ctx, [installation_body(ctx.gh, i) for i in ctx.gh.state.installations.values()])


@router.route("GET", "/app/installations/{installation_id}")
def get_installation(ctx: Ctx, installation_id: str) -> dict[str, Any]:
    _require_jwt(ctx)
    return installation_body(ctx.gh, _installation(ctx, installation_id))


def _installation(ctx: Ctx, installation_id: str) -> Installation:
    inst = ctx.gh.state.installations.get(int(installation_id)) if installation_id.isdigit() else None
    if inst is None:
        raise not_found(f"{DOC_APPS}#get-an-installation-for-the-authenticated-app")
    return inst


@router.route("POST", "/app/installations/{installation_id}/access_tokens")
def create_access_token(ctx: Ctx, installation_id: str) -> Response:
    _require_jwt(ctx)
    inst = _installation(ctx, installation_id)
    body = ctx.json()
    permissions = dict(inst.permissions)
    for key, level in (body.get("permissions") or {}).items():
        if key not in inst.permissions or (level == "write" and inst.permissions[key] != "write"):
            raise validation_failed(f"The permissions requested are not granted to this installation: {key}")
        permissions[key] = level
    expires = time.time() + 3600
    token = ctx.gh.state.add_token(
        f"{inst.app_slug}[bot]",
        "installation",
        permissions=permissions,
        installation_id=inst.id,
        expires_at=expires,
    )
    return Response(
        201,
        {
            "token": token.value,
            "expires_at": now_iso(expires),
            "permissions": permissions,
            "repository_selection": "all" if inst.repositories is None else "selected",
        },
    )


def _installation_for(ctx: Ctx, account: str) -> dict[str, Any]:
    _require_jwt(ctx)
    for inst in ctx.gh.state.installations.values():
        if inst.account.lower() == account.lower():
            return installation_body(ctx.gh, inst)
    raise not_found(f"{DOC_APPS}#get-an-organization-installation-for-the-authenticated-app")


@router.route("GET", "/orgs/{org}/installation")
def org_installation(ctx: Ctx, org: str) -> dict[str, Any]:
    return _installation_for(ctx, org)


@router.route("GET", "/users/{username}/installation")
def user_installation(ctx: Ctx, username: str) -> dict[str, Any]:
    return _installation_for(ctx, username)


@router.route("GET", "/repos/{owner}/{repo}/installation")
def repo_installation(ctx: Ctx, owner: str, repo: str) -> dict[str, Any]:
    if ctx.gh.repo(owner, repo) is None:
        raise not_found()
    return _installation_for(ctx, owner)


# -- accounts and rate limit ------------------------------------------------------------------------
@router.route("GET", "/user")
def authenticated_user(ctx: Ctx) -> dict[str, Any]:
    if ctx.token is not None and ctx.token.kind == "installation":
        raise ApiError(
            403, "Resource not accessible by integration", doc="https://docs.github.com/rest/users/users"
        )
    return shapes.user(ctx.gh, ctx.login)


@router.route("GET", "/users/{username}")
def get_user(ctx: Ctx, username: str) -> dict[str, Any]:
    if username not in ctx.gh.state.accounts:
        raise not_found("https://docs.github.com/rest/users/users#get-a-user")
    return shapes.user(ctx.gh, username)


@router.route("GET", "/orgs/{org}")
def get_org(ctx: Ctx, org: str) -> dict[str, Any]:
    if org not in ctx.gh.state.accounts or ctx.gh.state.account(org)[1] != "Organization":
        raise not_found("https://docs.github.com/rest/orgs/orgs#get-an-organization")
    user = shapes.user(ctx.gh, org)
    api = f"{ctx.gh.api_url}/orgs/{org}"
    return {
        **{k: user[k] for k in ("login", "id", "node_id", "avatar_url", "html_url", "type")},
        "url": api,
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events",
        "hooks_url": f"{api}/hooks",
        "issues_url": f"{api}/issues",
        "members_url": f"{api}/members{{/member}}",
        "description": None,
        "name": org,
        "public_repos": len(ctx.gh.repos(org)),
        "created_at": now_iso(0),
        "updated_at": now_iso(0),
    }


@router.route("GET", "/rate_limit", resource="none")
def rate_limit(ctx: Ctx) -> dict[str, Any]:
    assert ctx.token is not None
    resources = {}
    for name in RATE_RESOURCES:
        budget = ctx.token.budget(name)
        resources[name] = {
            "limit": budget.limit,
            "remaining": budget.remaining,
            "reset": budget.reset,
            "used": budget.used,
            "resource": name,
        }
    return {"resources": resources, "rate": resources["core"]}


# -- rules, rulesets, protection -------------------------------------------------------------------------
def store_ruleset(gh: StandIn, repo: str, ruleset: dict[str, Any]) -> dict[str, Any]:
    stored = {
        "target": "branch",
        "enforcement": "active",
        "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
        "rules": [],
        "bypass_actors": [],
        **ruleset,
        "id": gh.state.next_id(),
        "source_type": "Repository",
        "source": repo,
        "created_at": now_iso(),
        "updated_at": now_iso(),
    }
    with gh.state.lock:
        gh.state.rulesets.setdefault(repo.lower(), []).append(stored)
    return stored


def ruleset_applies(ruleset: dict[str, Any], branch: str, default: str) -> bool:
    if ruleset.get("target", "branch") != "branch" or ruleset.get("enforcement") != "active":
        return False
    cond = (ruleset.get("conditions") or {}).get("ref_name") or {}

    def hit(pattern: str) -> bool:
        if pattern == "~ALL":
            return True
        if pattern == "~DEFAULT_BRANCH":
            return branch == default
        return fnmatch.fnmatchcase(f"refs/heads/{branch}", pattern) or fnmatch.fnmatchcase(branch, pattern)

    return any(hit(p) for p in cond.get("include", [])) and not any(hit(p) for p in cond.get("exclude", []))


@router.route("GET", "/repos/{owner}/{repo}/rules/branches/{branch+}")
def branch_rules(ctx: Ctx, owner: str, repo: str, branch: str) -> Response:
    meta = repo_meta(ctx, owner, repo)
    default = ctx.gh.bare(owner, repo).head_branch()
    rules = [
        {
            **rule,
            "ruleset_source_type": "Repository",
            "ruleset_source": meta.full_name,
            "ruleset_id": rs["id"],
        }
        for rs in ctx.gh.state.rulesets.get(meta.full_name.lower(), [])
        if ruleset_applies(rs, branch, default)
        for rule in rs.get("rules", [])
    ]
    return paged(ctx, rules)


@router.route("GET", "/repos/{owner}/{repo}/rulesets")
def list_rulesets(ctx: Ctx, owner: str, repo: str) -> Response:
    meta = repo_meta(ctx, owner, repo)
    items = [
        {
            k: rs[k]
            for k in (
                "id",
                "name",
                "target",
                "source_type",
                "source",
                "enforcement",
                "created_at",
                "updated_at",
            )
            if k in rs
        }
        for rs in ctx.gh.state.rulesets.get(meta.full_name.lower(), [])
    ]
    return paged(ctx, items)


@router.route("POST", "/repos/{owner}/{repo}/rulesets")
def create_ruleset(ctx: Ctx, owner: str, repo: str) -> Response:
    meta = repo_meta(ctx, owner, repo)
    body = ctx.json()
    if not body.get("name") or body.get("enforcement") not in ("active", "evaluate", "disabled"):
        raise validation_failed(
            "Invalid request.",
            resource="Ruleset",
            field="name" if not body.get("name") else "enforcement",
            code="invalid",
        )
    return Response(201, store_ruleset(ctx.gh, meta.full_name, body))


@router.route("GET", "/repos/{owner}/{repo}/rulesets/{ruleset_id}")
def get_ruleset(ctx: Ctx, owner: str, repo: str, ruleset_id: str) -> dict[str, Any]:
    meta = repo_meta(ctx, owner, repo)
    for rs in ctx.gh.state.rulesets.get(meta.full_name.lower(), []):
        if str(rs["id"]) == ruleset_id:
            return rs
    raise not_found("https://docs.github.com/rest/repos/rules#get-a-repository-ruleset")


@router.route("GET", "/repos/{owner}/{repo}/branches/{branch+}/protection")
def get_protection(ctx: Ctx, owner: str, repo: str, branch: str) -> dict[str, Any]:
    meta = repo_meta(ctx, owner, repo)
    require_branch(ctx, meta, branch)
    protection = ctx.gh.state.protection.get((meta.full_name.lower(), branch))
    if protection is None:
        raise ApiError(
            404,
            "Branch not protected",
            doc="https://docs.github.com/rest/branches/branch-protection#get-branch-protection",
        )
    url = f"{ctx.gh.api_url}/repos/{meta.full_name}/branches/{branch}/protection"
    return {"url": url, **protection}


# -- Actions settings -----------------------------------------------------------------------------------
@router.route("GET", "/repos/{owner}/{repo}/actions/secrets")
def list_secrets(ctx: Ctx, owner: str, repo: str) -> Response:
    meta = repo_meta(ctx, owner, repo)
    items = [
        {"name": name, "created_at": meta.created_at, "updated_at": meta.created_at} for name in meta.secrets
    ]
    response = paged(ctx, items)
    response.body = {"total_count": len(items), "secrets": response.body}
    return response


@router.route("GET", "/repos/{owner}/{repo}/actions/variables")
def list_variables(ctx: Ctx, owner: str, repo: str) -> Response:
    meta = repo_meta(ctx, owner, repo)
    items = [
        {"name": k, "value": v, "created_at": meta.created_at, "updated_at": meta.created_at}
        for k, v in meta.variables.items()
    ]
    response = paged(ctx, items, default=10)
    response.body = {"total_count": len(items), "variables": response.body}
    return response


@router.route("GET", "/repos/{owner}/{repo}/actions/permissions/workflow")
def workflow_permissions(ctx: Ctx, owner: str, repo: str) -> dict[str, Any]:
    meta = repo_meta(ctx, owner, repo)
    return {
        "default_workflow_permissions": meta.workflow_permissions,
        "can_approve_pull_request_reviews": False,
    }
