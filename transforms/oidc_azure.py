"""oidc-azure: replace `azure/login` service-principal secrets with workload identity federation.

`creds: ${{ secrets.AZURE_CREDENTIALS }}` (the JSON from `az ad sp create-for-rbac`) becomes
`client-id` / `tenant-id` / `subscription-id` (org config, else `vars.AZURE_*`); inline JSON assembled
from separate secrets keeps its id expressions and loses only `clientSecret`. The same app
registration (service principal) is used, so its Azure role assignments stay as they are; the owner
adds a federated credential to it. Any other use of the removed secret refuses the job.
Terraform's `ARM_CLIENT_SECRET` (`oidc_azure_terraform.py`) and App Service publish profiles
(`oidc_azure_deploy.py`) in the same job join the same plan.
"""

from __future__ import annotations

import json
import re
from typing import Any

from transforms import oidc
from transforms import oidc_azure_deploy as deploy
from transforms import oidc_azure_terraform as terraform
from transforms.base import Context, Finding
from transforms.model import Job, Step, Workflow, load_workflow
from transforms.oidc_plan import (
    Plan,
    explain_common,
    finish,
    fixable_ops,
    label,
    mark_kept,
    one_secret,
    pin_ops,
    slug,
    subjects,
    to_finding,
    with_ops,
)
from transforms.yamldoc import Doc
from transforms.yamledit import EditText, Op, ReplaceValue

ID = "oidc-azure"
LOGIN = "azure/login"
ID_INPUTS = ("client-id", "tenant-id", "subscription-id")
JSON_KEYS = {"clientid": "client-id", "tenantid": "tenant-id", "subscriptionid": "subscription-id"}
AUDIENCE = "api://AzureADTokenExchange"
# `${{ fromJson(secrets.X).subscriptionId }}`: an identifier read out of the creds JSON. Only these three
# fields have a federated twin (the login's own input); `clientSecret` and anything else stays a refusal.
FIELD_READ = r"\$\{\{\s*fromjson\(\s*secrets\.%s\s*\)\.(clientid|tenantid|subscriptionid)\s*\}\}"


def login_inputs(values: oidc.Values, subscription: bool = True,
                 meanings: dict[str, str] | None = None) -> dict[str, Any]:
    """The three identifiers of an OIDC `azure/login` (shared with registry-login for ACR)."""
    say = {"client-id": "application (client) id of the app registration: `clientId` in the old JSON",
           "tenant-id": "directory (tenant) id: `tenantId` in the old JSON",
           "subscription-id": "subscription id: `subscriptionId` in the old JSON", **(meanings or {})}
    out = {
        "client-id": values.get("client_id", "AZURE_CLIENT_ID", say["client-id"]),
        "tenant-id": values.get("tenant_id", "AZURE_TENANT_ID", say["tenant-id"]),
    }
    if subscription:
        out["subscription-id"] = values.get("subscription_id", "AZURE_SUBSCRIPTION_ID", say["subscription-id"])
    return out


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() == "true"


def _inline(creds: str) -> dict[str, str] | None:
    """Inline JSON creds (`{"clientId": "${{ secrets.ID }}", ...}`), keys lowered; None if not JSON."""
    try:
        data = json.loads(creds)
    except ValueError:
        return None
    return {str(k).lower(): str(v) for k, v in data.items()} if isinstance(data, dict) else None


class _Builder:
    def __init__(self, doc: Doc, wf: Workflow, job: Job, ctx: Context) -> None:
        self.doc, self.wf, self.job, self.ctx = doc, wf, job, ctx
        self.values = oidc.Values(ctx)
        self.plan = Plan(job)
        self.removed: set[Any] = set()

    def step(self, step: Step) -> None:
        cloud = str(step.with_.get("environment", "azurecloud")).strip().lower()
        if cloud != "azurecloud" and "audience" not in step.with_:
            self.plan.refused = (f'step "{label(step)}" logs in to {step.with_["environment"]}: sovereign clouds '
                                 "need their own token `audience`; set it and migrate by hand")
            return
        creds = step.with_.get("creds")
        subscription = not _truthy(step.with_.get("allow-no-subscriptions"))
        name = one_secret(creds)
        if name is not None:
            self._swap(step, {name}, login_inputs(self.values, subscription))
            return
        inline = _inline(creds) if isinstance(creds, str) else None
        secret = oidc.secret_names(inline.get("clientsecret", "")) if inline else set()
        if not inline or not secret:
            self.plan.refused = (f'step "{label(step)}": `creds` is neither `${{{{ secrets.NAME }}}}` nor inline '
                                 "JSON with a `clientSecret` secret; its source cannot be traced")
            return
        found = {JSON_KEYS[k]: v for k, v in inline.items() if k in JSON_KEYS}
        ids = {k: found[k] for k in ID_INPUTS if k in found}
        if "subscription-id" in ids and not subscription:
            del ids["subscription-id"]
        missing = [k for k in ID_INPUTS[: 3 if subscription else 2] if k not in ids]
        if missing:
            self.plan.refused = f'step "{label(step)}": the inline `creds` JSON has no {missing[0]} value'
            return
        self._swap(step, secret, ids)

    def _swap(self, step: Step, secrets: set[str], ids: dict[str, Any]) -> None:
        add = {k: v for k, v in ids.items() if k not in step.with_}
        self.plan.ops += with_ops(step, ["creds"], add) + pin_ops(step, LOGIN)
        self.plan.secrets |= secrets
        self.plan.steps.append(label(step))
        self.removed.add((*step.path, "with", "creds"))
        for name in secrets:
            self._field_reads(name, {**ids, **{k: step.with_[k] for k in ID_INPUTS if k in step.with_}})

    def _field_reads(self, secret: str, ids: dict[str, Any]) -> None:
        """Point exact `fromJson(secrets.X).<id>` reads at the value the login now gets for that id.

        A whole-scalar read is replaced; one read inside a longer string (a `run:` line) is edited in
        place. Anything else that still names the secret stays, and `finish` refuses the job on it.
        """
        pattern = re.compile(FIELD_READ % re.escape(secret), re.I)
        for path, value in oidc.walk(dict(self.job.data), self.job.path):
            if not isinstance(value, str) or path in self.removed:
                continue
            found = list(pattern.finditer(value))
            new = ids.get(JSON_KEYS[found[0][1].lower()]) if len(found) == 1 else None
            if new is None:  # none, several in one string, or an id the login does not get
                continue
            if found[0][0] == value.strip():
                self.plan.ops.append(ReplaceValue(path, new))
                rest = ""
            else:
                self.plan.ops.append(EditText(path, found[0][0], str(new)))
                rest = value.replace(found[0][0], str(new), 1)
            if secret not in oidc.secret_names(rest):
                self.removed.add(path)


def _login_steps(job: Job) -> list[Step]:
    return [s for s in job.steps
            if slug(s) == LOGIN and "creds" in s.with_ and str(s.with_.get("auth-type", "")).upper() != "IDENTITY"]


def plan_job(doc: Doc, wf: Workflow, job: Job, ctx: Context) -> Plan | None:
    found = _login_steps(job)
    tf_sites = terraform.sites(wf, job)  # Terraform's ARM_CLIENT_SECRET: same app registration, same plan
    deploys = deploy.sites(job)  # publish profiles: the deploy step can use an azure/login session instead
    if not found and not tf_sites and not deploys:
        return None
    b = _Builder(doc, wf, job, ctx)
    b.plan.refused = oidc.refusal(wf, job) or ""
    for step in found:
        if b.plan.refused:
            break
        b.step(step)
    if tf_sites and not b.plan.refused:
        terraform.add(b.plan, b.removed, wf, job, tf_sites)
    if deploys and not b.plan.refused:
        login = login_inputs(b.values, meanings=None if found or tf_sites else deploy.MEANINGS)
        deploy.add(b.plan, b.removed, wf, job, deploys, login)
        if not found and not tf_sites:
            b.plan.data["what"] = deploy.WHAT
    b.plan.data["variables"] = b.values.variables
    b.plan.data["subjects"] = subjects(wf, job, ctx.repo or "OWNER/REPO", ctx.options.get("default_branch", "main"))
    b.plan.data["environment"] = job.environment or ""
    return b.plan if b.plan.refused else finish(b.plan, doc, wf, ctx, b.removed)


def plans(doc: Doc, ctx: Context) -> list[Plan]:
    wf = load_workflow(doc)
    if wf is None:
        return []
    out = [p for job in wf.jobs if (p := plan_job(doc, wf, job, ctx)) is not None]
    terraform.settle(out)
    return mark_kept(wf, out)


def credential_json(subject: str, index: int) -> str:
    body = {"name": f"github-{index}", "issuer": "https://token.actions.githubusercontent.com",
            "subject": subject, "audiences": [AUDIENCE]}
    return json.dumps(body, indent=2)


def setup_lines(findings: list[Finding]) -> list[str]:
    """Federated credentials for every subject the rewritten jobs present."""
    subs = list(dict.fromkeys(s for f in findings if f.fixable for s in f.data.get("subjects", [])))
    fixed = [f for f in findings if f.fixable]
    if all(f.data.get("what") == deploy.WHAT for f in fixed):  # no old client secret names an identity
        lines = ["Create (or reuse) an app registration (Microsoft Entra ID -> App registrations; or a user-assigned "
                 "managed identity) for the deployment and add one federated credential per subject below.", ""]
    else:
        lines = ["On the app registration whose `clientId` is in the old secret (Microsoft Entra ID -> App "
                 "registrations; or a user-assigned managed identity), add one federated credential per subject "
                 "below. Its Azure role assignments stay as they are.", ""]
    for i, sub in enumerate(subs, 1):
        lines += ["```sh", f"cat > credential-{i}.json <<'EOF'", credential_json(sub, i), "EOF",
                  f"az ad app federated-credential create --id <APP_ID> --parameters credential-{i}.json", "```"]
    lines += ["", "Classic federated credentials match `subject` exactly (no wildcards): a job that declares "
              "`environment:` presents `environment:NAME`, never a branch; `environment:` written as an expression "
              "needs one credential per value. Pull requests present `repo:OWNER/REPO:pull_request` (underscore). "
              "Sovereign clouds need a matching `environment` and `audience` input. The tokens last about an hour.",
              ""]
    return lines


class OidcAzure:
    id = ID
    summary = ("Replace Azure service-principal secrets and publish profiles (azure/login `creds`, Terraform "
               "`ARM_CLIENT_SECRET`, `publish-profile`) with OIDC workload identity federation.")
    # Only files mentioning one of these can match: azure/login, or Terraform's ARM_CLIENT_SECRET.
    requires_text = ("azure", "arm_client_secret")
    safe = False
    intended = ("jobs.*.steps", "jobs.*.permissions", "runs.steps", "env", "jobs.*.env")  # env: Terraform ARM_*

    def detect(self, doc: Doc, ctx: Context) -> list[Finding]:
        return [to_finding(p, ID, p.data.get("what", "an Azure service-principal secret"), ctx)
                for p in plans(doc, ctx)]

    def apply(self, doc: Doc, ctx: Context, findings: list[Finding]) -> list[Op]:
        return fixable_ops(plans(doc, ctx), findings)

    def explain(self, findings: list[Finding]) -> str:
        return explain_common(findings, "Azure: service-principal secret -> workload identity federation",
                              setup_lines(findings) + terraform.setup_lines(findings) + deploy.setup_lines(findings))
