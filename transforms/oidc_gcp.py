"""oidc-gcp: replace Google Cloud service-account keys with Workload Identity Federation.

Forms rewritten, per job:
- `google-github-actions/auth` with `credentials_json:` -> `workload_identity_provider:` +
  `service_account:`, pinned to the current release;
- the removed `setup-gcloud` key inputs (`service_account_key:`, v0 and the old
  GoogleCloudPlatform/github-actions path) -> a pinned `auth` step inserted before a pinned
  current `setup-gcloud` without the key inputs;
- `echo '${{ secrets.KEY }}' | docker login -u _json_key ...` in a script of the same job ->
  the access token of the auth step.

`service_account` is always kept (impersonation), not direct WIF: the key belonged to that
account, so its roles stay as they are and the owner only grants `roles/iam.workloadIdentityUser`;
it also gives `token_format` (GAR logins) what it requires and lets auth derive the project id.
Org config `direct_wif: true` drops it where no token is minted.

The module also holds the step-edit helpers the other federated-login transforms share.
"""

from __future__ import annotations

import re
from typing import Any

from transforms import oidc
from transforms.base import Context, Finding, Severity
from transforms.model import Job, Step, Workflow, load_workflow
from transforms.oidc_plan import (
    Plan,
    explain_common,
    finish,
    fixable_ops,
    fresh_id,
    label,
    mark_kept,
    one_secret,
    pin_ops,
    slug,
    subjects,
    to_finding,
    with_ops,
)
from transforms.pins import pin
from transforms.yamldoc import Doc
from transforms.yamledit import EditText, InsertItem, InsertKey, Op, ReplaceValue

ID = "oidc-gcp"
AUTH = "google-github-actions/auth"
SETUP = "google-github-actions/setup-gcloud"
LEGACY_SETUP = ("google-github-actions/setup-gcloud", "googlecloudplatform/github-actions/setup-gcloud")
KEY_INPUTS = ("service_account_key", "service_account_email", "export_default_credentials", "credentials_file_path")
GKE = "google-github-actions/get-gke-credentials"
# CHANGELOG v0.4.0 "add WIF docs, add warning for credentials input"; without `credentials` it uses ADC.
GKE_WIF = (0, 4)
GKE_CURRENT = "v3.0.0"
# Inputs of v0.2.x that v3 reads the same way (action.yml of both); `use_auth_provider` is left out on
# purpose: v0.x meant kubectl's removed gcp auth provider, v3 means gke-gcloud-auth-plugin.
GKE_OLD_INPUTS = frozenset({"cluster_name", "location", "project_id", "credentials", "use_internal_ip"})
MIN_GCLOUD = 363  # setup-gcloud README: "Workload Identity Federation requires version 363.0.0 or newer"
KEY_ENV = re.compile(r"^(GOOGLE_APPLICATION_CREDENTIALS|GOOGLE_CREDENTIALS|GCLOUD_SERVICE_KEY|GCP_SA_KEY|"
                     r"GCP_CREDENTIALS|GCLOUD_AUTH|GKE_SA_KEY|SERVICE_ACCOUNT_KEY)$", re.I)


# ---------------------------------------------------------------- helpers shared by the OIDC transforms


def _old_gcloud(version: Any) -> bool:
    m = re.fullmatch(r"\s*['\"]?(\d+)\.\d+\.\d+['\"]?\s*", str(version)) if version is not None else None
    return m is not None and int(m[1]) < MIN_GCLOUD


def auth_inputs(values: oidc.Values, token: bool, direct_wif: bool = False, account: Any = None) -> dict[str, Any]:
    """`with:` of an inserted google-github-actions/auth step (shared with registry-login's GAR logins).

    `token`: a later step needs an access token, which only the service-account path can mint.
    """
    out: dict[str, Any] = {"workload_identity_provider": values.get(
        "workload_identity_provider", "GCP_WORKLOAD_IDENTITY_PROVIDER",
        "provider name, projects/<NUMBER>/locations/global/workloadIdentityPools/<POOL>/providers/<ID>")}
    if token or not direct_wif:
        out["service_account"] = account or values.get(
            "service_account", "GCP_SERVICE_ACCOUNT", "email of the service account the key belonged to")
    if token:
        out["token_format"] = "access_token"
    return out


class _Builder:
    """Collects one job's edits."""

    def __init__(self, doc: Doc, wf: Workflow, job: Job, ctx: Context) -> None:
        self.doc, self.wf, self.job, self.ctx = doc, wf, job, ctx
        self.values = oidc.Values(ctx)
        self.plan = Plan(job)
        self.removed: set[Any] = set()

    def auth_inputs(self, token: bool, account: Any = None) -> dict[str, Any]:
        return auth_inputs(self.values, token, bool(self.ctx.options.get("direct_wif")), account)

    def key_secret(self, step: Step, key: str) -> str | None:
        name = one_secret(step.with_.get(key))
        if name is None:
            self.plan.refused = (f'step "{label(step)}": `{key}` is not a single `${{{{ secrets.NAME }}}}` '
                                 "reference; its source cannot be traced")
        return name

    def auth_step(self, step: Step) -> None:
        name = self.key_secret(step, "credentials_json")
        if name is None:
            return
        scripted = self._script_login(step, name)
        token = scripted or "token_format" in step.with_
        add = self.auth_inputs(token=token, account=step.with_.get("service_account"))
        if "token_format" in step.with_:
            add.pop("token_format")
        self.plan.ops += with_ops(step, ["credentials_json"], add) + pin_ops(step, AUTH)
        self.done(step, name, "credentials_json")

    def setup_step(self, step: Step) -> None:
        name = self.key_secret(step, "service_account_key")
        if name is None:
            return
        if _old_gcloud(step.with_.get("version")):
            self.plan.refused = (f'step "{label(step)}" pins gcloud {step.with_["version"]}; Workload Identity '
                                 f"Federation needs {MIN_GCLOUD}.0.0 or newer: raise `version:` first")
            return
        account = step.with_.get("service_account_email")
        auth = {"name": "Authenticate to Google Cloud", "uses": pin(AUTH).uses,
                "with": self.auth_inputs(token=False, account=account)}
        steps_path = (*self.job.path, "steps")
        self.plan.ops += [InsertItem(steps_path, step.index, auth, comments={("uses",): pin(AUTH).tag})]
        self.plan.ops += with_ops(step, KEY_INPUTS, {}) + pin_ops(step, SETUP)
        self.done(step, name, "service_account_key", *KEY_INPUTS)

    def gke_step(self, step: Step) -> None:
        """get-gke-credentials reads Application Default Credentials, which the auth step now exports."""
        ref = step.uses.ref if step.uses else ""
        version = re.fullmatch(r"v(\d+)(?:\.(\d+))?(?:\.\d+)?", ref)
        old = version is not None and (int(version[1]), int(version[2] or 99)) < GKE_WIF
        why = _gke_upgrade_refusal(step, ref) if old else ""
        if version is None:
            self.plan.refused = (f'step "{label(step)}" passes the key as `credentials:` to get-gke-credentials@{ref}, '
                                 "a ref that names no release: pin it to a release tag first")
        elif why:
            self.plan.refused = why
        elif "project_id" not in step.with_ and self.ctx.options.get("direct_wif"):
            self.plan.refused = (f'step "{label(step)}" took its project from the key; with `direct_wif` the auth '
                                 "step exports none: set its `project_id:` first")
        else:
            self.plan.ops += with_ops(step, ["credentials"], {})
            self.removed.add((*step.path, "with", "credentials"))
            if old:
                self._upgrade_gke(step, ref)

    def _upgrade_gke(self, step: Step, ref: str) -> None:
        """Releases before v0.4.0 only read a key: move to the current release (same inputs, same kubeconfig)."""
        new = pin(GKE, at_least=GKE_CURRENT)
        self.plan.ops.append(ReplaceValue((*step.path, "uses"), new.uses, comments={(): new.tag}))
        self.plan.data.setdefault("upgrades", []).append(
            f'Step "{label(step)}" moves from `{GKE}@{ref}` to {new.tag} (pinned to `{new.sha}`): releases before '
            "v0.4.0 can only read a key. The inputs it uses kept their names and meaning, and the kubeconfig still "
            "carries a short-lived token. "
            + (f"That commit was not read from {GKE} itself: {new.corroborated}. Compare it with the {new.tag} "
               f"tag on github.com/{GKE}/releases before merging." if new.corroborated else ""))

    def done(self, step: Step, secret: str, *keys: str) -> None:
        self.plan.secrets.add(secret)
        self.plan.steps.append(label(step))
        self.removed |= {(*step.path, "with", k) for k in keys}

    def _script_login(self, auth: Step, secret: str) -> bool:
        """Rewrite later `echo KEY | docker login -u _json_key` scripts to use the auth step's token."""
        expr = r"\$\{\{\s*secrets\." + re.escape(secret) + r"\s*\}\}"
        pattern = re.compile(r"(echo\s+)(['\"]?)" + expr + r"\2(\s*\|\s*docker\s+login\s+(?:-u|--username)[ =])"
                             r"['\"]?_json_key(?:_base64)?['\"]?")
        found = False
        for step in self.job.steps[auth.index + 1:]:
            run = step.run or ""
            matches = list(pattern.finditer(run))
            if len(matches) != 1 or "\n" in matches[0][0]:
                continue
            m = matches[0]
            token = f"${{{{ steps.{self._auth_id(auth)}.outputs.access_token }}}}"
            # Through env, never `${{ }}` inside the script (template injection); double quotes so it expands.
            new = f'{m[1]}"${TOKEN_VAR}"{m[3]}oauth2accesstoken'
            self.plan.ops.append(EditText((*step.path, "run"), m[0], new))
            self.plan.ops.append(_env_op(step, TOKEN_VAR, token))
            if secret not in oidc.secret_names(run.replace(m[0], new, 1)):
                self.removed.add((*step.path, "run"))
            found = True
        return found

    def _auth_id(self, auth: Step) -> str:
        """The auth step's id, giving it one (`auth`) when it has none."""
        if isinstance(auth.data.get("id"), str):
            return str(auth.data["id"])
        new = fresh_id(self.job, "auth")
        if not any(isinstance(op, InsertKey) and op.path == auth.path and op.key == "id" for op in self.plan.ops):
            first = next(iter(auth.data), None)
            self.plan.ops.append(InsertKey(auth.path, "id", new, before=None if first == "uses" else "uses"))
        return new


TOKEN_VAR = "GCP_ACCESS_TOKEN"


def _gke_upgrade_refusal(step: Step, ref: str) -> str:
    """Why an old get-gke-credentials step cannot move to the current release as it is ("" when it can)."""
    extra = sorted(set(step.with_) - GKE_OLD_INPUTS)
    if not extra:
        return ""
    return (f'step "{label(step)}" passes the key as `credentials:` to get-gke-credentials@{ref}, which predates '
            f"Workload Identity Federation, and also sets {', '.join('`' + k + '`' for k in extra)}, which the "
            f"current release reads differently: upgrade that step to {GKE_CURRENT} by hand first")


def _env_op(step: Step, name: str, value: str) -> InsertKey:
    if isinstance(step.data.get("env"), dict):
        return InsertKey((*step.path, "env"), name, value)
    return InsertKey(step.path, "env", {name: value}, after="run")


def _dual(job: Job) -> Step | None:
    """A WIF auth step next to a key step means the key path is deliberate (fallback or test)."""
    return next((s for s in job.steps if slug(s) == AUTH and "workload_identity_provider" in s.with_), None)


def _key_steps(job: Job) -> list[tuple[str, Step]]:
    out = []
    for step in job.steps:
        if slug(step) == AUTH and "credentials_json" in step.with_:
            out.append(("auth", step))
        elif slug(step) in LEGACY_SETUP and "service_account_key" in step.with_:
            out.append(("setup", step))
    return out


def plan_job(doc: Doc, wf: Workflow, job: Job, ctx: Context) -> Plan | None:
    found = _key_steps(job)
    if not found:
        return None
    b = _Builder(doc, wf, job, ctx)
    plan = b.plan
    plan.refused = oidc.refusal(wf, job) or ""
    dual = _dual(job)
    if dual is not None and not plan.refused:
        plan.refused = (f'step "{label(dual)}" already uses Workload Identity Federation; the key login '
                        "next to it is a deliberate fallback or test: remove it by hand")
    for kind, step in found:
        if plan.refused:
            break
        b.auth_step(step) if kind == "auth" else b.setup_step(step)
    for step in job.steps if not plan.refused else []:
        if slug(step) == GKE and one_secret(step.with_.get("credentials")) in plan.secrets:
            b.gke_step(step)
    plan.data["variables"] = b.values.variables
    plan.data["subjects"] = subjects(wf, job, ctx.repo or "OWNER/REPO", ctx.options.get("default_branch", "main"))
    return plan if plan.refused else finish(plan, doc, wf, ctx, b.removed)


def _script_note(wf: Workflow, job: Job) -> Finding | None:
    """Keys handed to gcloud through env or scripts: where the file goes cannot be proven."""
    envs = [(f"env.{k}", v) for k, v in {**wf.env, **job.env}.items()]
    envs += [(f'step "{s.name}" env.{k}', v) for s in job.steps for k, v in s.env.items()]
    hit = next((w for w, v in envs if KEY_ENV.match(w.rsplit(".", 1)[-1]) and oidc.secret_names(v)), None)
    hit = hit or next((f'step "{s.name}"' for s in job.steps
                       if "activate-service-account" in (s.run or "") and oidc.secret_names(s.run)), None)
    if hit is None:
        return None
    return Finding(f"{ID}-script", f"job `{job.id}`: a service-account key reaches gcloud through {hit}; "
                   "not rewritten (a script decides where the key goes): replace it with "
                   "google-github-actions/auth and Workload Identity Federation by hand", job.line,
                   yaml_path=f"jobs.{job.id}", severity=Severity.NOTE, data={"job": job.id})


def plans(doc: Doc, ctx: Context) -> tuple[list[Plan], list[Finding]]:
    wf = load_workflow(doc)
    if wf is None:
        return [], []
    out, notes = [], []
    for job in wf.jobs:
        plan = plan_job(doc, wf, job, ctx)
        if plan is not None:
            out.append(plan)
        elif (note := _script_note(wf, job)) is not None:
            notes.append(note)
    return mark_kept(wf, out), notes


class OidcGcp:
    id = ID
    summary = "Replace Google Cloud service-account keys with Workload Identity Federation."
    # Only files mentioning one of these can match: auth/setup-gcloud, key inputs, key env names, _json_key logins.
    requires_text = ("google", "gcloud", "gcp", "gke", "service_account", "_json_key")
    safe = False
    intended = ("jobs.*.steps", "jobs.*.permissions", "runs.steps")

    def detect(self, doc: Doc, ctx: Context) -> list[Finding]:
        found, notes = plans(doc, ctx)
        return [to_finding(p, ID, "a Google Cloud service-account key", ctx) for p in found] + notes

    def apply(self, doc: Doc, ctx: Context, findings: list[Finding]) -> list[Op]:
        return fixable_ops(plans(doc, ctx)[0], findings)

    def explain(self, findings: list[Finding]) -> str:
        return explain(findings)


def explain(findings: list[Finding]) -> str:
    upgrades = [u for f in findings if f.fixable for u in f.data.get("upgrades", [])]
    return explain_common(findings, "Google Cloud: service-account keys -> Workload Identity Federation",
                          setup_lines(findings) + [line for u in upgrades for line in (u, "")])


def setup_lines(findings: list[Finding]) -> list[str]:
    """gcloud commands for the pool, the provider and the impersonation grant (shared with registry-login)."""
    fixed = [f for f in findings if f.fixable]
    repo = fixed[0].data["repo"] if fixed else "OWNER/REPO"
    owner = repo.split("/")[0]
    return [
        "```sh",
        "PROJECT_ID=<project id>",
        "PROJECT_NUMBER=$(gcloud projects describe $PROJECT_ID --format='value(projectNumber)')",
        "gcloud iam workload-identity-pools create github --project=$PROJECT_ID --location=global \\",
        "  --display-name='GitHub Actions'",
        "gcloud iam workload-identity-pools providers create-oidc " + repo.split("/")[-1] + " \\",
        "  --project=$PROJECT_ID --location=global --workload-identity-pool=github \\",
        "  --issuer-uri=https://token.actions.githubusercontent.com \\",
        "  --attribute-mapping='google.subject=assertion.sub,attribute.repository=assertion.repository,"
        "attribute.repository_owner=assertion.repository_owner,attribute.repository_id=assertion.repository_id' \\",
        f"  --attribute-condition=\"assertion.repository_owner == '{owner}' && assertion.repository == '{repo}'\"",
        "# The service account the key belonged to (SA_EMAIL) may now be impersonated by this repository only:",
        "gcloud iam service-accounts add-iam-policy-binding SA_EMAIL --project=$PROJECT_ID \\",
        "  --role=roles/iam.workloadIdentityUser \\",
        "  --member=\"principalSet://iam.googleapis.com/projects/$PROJECT_NUMBER/locations/global/"
        f"workloadIdentityPools/github/attribute.repository/{repo}\"",
        "# The value for GCP_WORKLOAD_IDENTITY_PROVIDER:",
        "gcloud iam workload-identity-pools providers describe " + repo.split("/")[-1]
        + " --project=$PROJECT_ID --location=global --workload-identity-pool=github --format='value(name)'",
        "```",
        "",
        "Google rejects a GitHub provider without an attribute condition. Prefer numeric ids against name "
        "re-registration: `assertion.repository_owner_id == '<ID>' && assertion.repository_id == '<ID>'`. "
        "The service account keeps the roles it had; nothing else changes on the Google side. Policy changes "
        "can take up to 5 minutes to apply.",
        "",
        "The `service_account` input is kept on purpose (impersonation rather than direct federation): the "
        "account's existing roles stay valid, `token_format` needs it, and not every Google service accepts "
        "`principalSet` identities. `auth` writes a `gha-creds-*.json` file into the workspace: keep "
        "`actions/checkout` before it and add `gha-creds-*.json` to `.gitignore`/`.dockerignore`. "
        "`gsutil` ignores these credentials; use `gcloud storage`.",
    ]
