"""App Service and Functions publish profiles -> an OIDC `azure/login` before the deploy step.

Part of oidc-azure (its plans gain these edits; no transform of its own). Without `publish-profile`,
`azure/webapps-deploy` deploys with the Azure CLI session (its `lib/main.js` asks for the CLI
authorizer only when no publish profile is given) and then needs `app-name` to find the app
(`ValidatorFactory`: `appNameIsRequired`); `azure/functions-action` does the same with the session of
an earlier `azure/login` (its README "Use OIDC" and `docs/authentication.md`). So `publish-profile`
goes, a pinned OIDC `azure/login` comes before the deploy step unless one already runs there, and
the job gets `id-token: write`.

Refused with a reason: no `app-name`, a value that is not one `${{ secrets.NAME }}`, or a login to
insert on a runner that may lack the Azure CLI (not GitHub-hosted, or a job `container:`).
"""

from __future__ import annotations

from typing import Any

from transforms import oidc
from transforms.base import Finding
from transforms.model import Job, Step, Workflow
from transforms.oidc_plan import Plan, label, one_secret, slug, with_ops
from transforms.publishing import action_step, hosted, insert_before

ACTIONS = ("azure/webapps-deploy", "azure/functions-action")
INPUT = "publish-profile"
LOGIN = "azure/login"
WHAT = "an App Service publish profile"
# A publish profile names no app registration: the variables hold the identity created for the deploy.
MEANINGS = {
    "client-id": "application (client) id of the app registration (or user-assigned managed identity) that "
                 "deploys the app",
    "tenant-id": "directory (tenant) id of that app registration",
    "subscription-id": "subscription id of the subscription that holds the app",
}
SOURCES = ("Azure/webapps-deploy `lib/main.js` (no publish profile -> Azure CLI authorizer) and "
           "`ValidatorFactory` (app-name required then); Azure/functions-action `docs/authentication.md` "
           "(azure/login before the action, no `publish-profile`; *Website Contributor* on the app); MicrosoftDocs "
           "azure-docs `articles/app-service/includes/deploy-github-actions/deploy-github-actions-openid-connect.md`")


def sites(job: Job) -> list[Step]:
    """Deploy steps whose publish profile comes from secrets (one fetched at run time is no stored secret)."""
    return [s for s in job.steps
            if slug(s) in ACTIONS and oidc.secret_names(s.with_.get(INPUT, ""))]


def _logs_in(step: Step) -> bool:
    """A login whose session a deploy can use: it selects a subscription (the deploy looks the app up there)."""
    return slug(step) == LOGIN and str(step.with_.get("allow-no-subscriptions", "")).strip().lower() != "true"


def _session(job: Job, deploy: Step, inserted: list[tuple[int, Any]]) -> bool:
    """Whether a login (present, or inserted for an earlier deploy) runs whenever `deploy` runs.

    It must come earlier, run under no `if:` or the deploy's own, and no `az logout` may come between.
    """
    cond = deploy.data.get("if")
    found = [(s.index, s.data.get("if")) for s in job.steps if s.index < deploy.index and _logs_in(s)]
    for where, when in sorted(found + inserted, reverse=True):
        between = [s for s in job.steps if where <= s.index < deploy.index and "az logout" in (s.run or "")]
        if not between and when in (None, cond):
            return True
    return False


def _refusal(job: Job, deploy: Step, insert: bool) -> str | None:
    where = f'step "{label(deploy)}"'
    if one_secret(deploy.with_.get(INPUT)) is None:
        return f"{where}: `{INPUT}` is not one `${{{{ secrets.NAME }}}}`"
    if not str(deploy.with_.get("app-name") or "").strip():
        return (f"{where} has no `app-name`; {slug(deploy)} needs it to find the app once the publish profile "
                "is gone")
    if insert and "container" in job.data:
        return f"job `{job.id}` runs in a `container:` that may lack the Azure CLI the inserted azure/login needs"
    if insert and hosted(job) is not True:
        return (f"cannot tell that `runs-on: {job.runs_on}` has the Azure CLI the inserted azure/login needs "
                "(GitHub-hosted runners do); log in before the deploy step by hand")
    return None


def add(plan: Plan, removed: set[Any], wf: Workflow, job: Job, found: list[Step], login: dict[str, Any]) -> None:
    """Extend the job's plan with the publish-profile rewrite, or refuse the whole job with the reason."""
    plan.data["publish_profile"] = True
    inserted: list[tuple[int, Any]] = []
    ops = []
    for deploy in found:
        plan.secrets |= oidc.secret_names(deploy.with_.get(INPUT, ""))
        insert = not _session(job, deploy, inserted)
        why = _refusal(job, deploy, insert)
        if why:
            plan.refused = why
            return
        if insert:
            value, comments = action_step(LOGIN, "Log in to Azure", deploy, login)
            ops.append(insert_before(job, deploy, value, comments))
            # Counted just before the deploy step: a later deploy under the same `if:` reuses it.
            inserted.append((deploy.index, deploy.data.get("if")))
        ops += with_ops(deploy, [INPUT], {})
        removed.add((*deploy.path, "with", INPUT))
        plan.steps.append(label(deploy))
    plan.ops += ops


def setup_lines(findings: list[Finding]) -> list[str]:
    """What the deploy identity needs besides the federated credential, and the cleanup after merging."""
    if not any(f.fixable and f.data.get("publish_profile") for f in findings):
        return []
    return [
        "**App Service publish profile** (`azure/webapps-deploy`, `azure/functions-action`): the deploy "
        "step now uses the session of an OIDC `azure/login`. The app registration (or user-assigned managed "
        "identity) in `AZURE_CLIENT_ID` needs the federated credential above **and a role on the app** that may "
        "deploy, for example *Website Contributor* scoped to the app:",
        "",
        "```sh",
        'az role assignment create --assignee <APP_ID> --role "Website Contributor" \\',
        "  --scope /subscriptions/<SUBSCRIPTION_ID>/resourceGroups/<RESOURCE_GROUP>/providers/Microsoft.Web/"
        "sites/<APP_NAME>",
        "```",
        "",
        "- **After merging** and one green deploy, delete the publish profile secret(s) (named at the end) and "
        "turn off basic authentication publishing credentials on the app (portal: the app -> Configuration -> General "
        "settings -> *SCM Basic Auth Publishing Credentials* and *FTP Basic Auth Publishing Credentials*: Off); "
        "that also makes the old publish profile useless.",
        "- An app in a sovereign cloud needs `environment` and `audience` on the inserted login.",
        f"- Sources: {SOURCES}.",
        "",
    ]
