"""attest: signed build provenance for what a job publishes (`actions/attest-build-provenance`).

- `docker/build-push-action` with `push: true`: `provenance: mode=max` and `sbom: true` in its
  `with:` (unless set), an `id` when it has none, and one attestation step per pushed image right
  after it (`subject-name` = the image without tag, `subject-digest` = the step's digest output,
  `push-to-registry: true`).
- Release assets (`softprops/action-gh-release` `files:`, `gh release upload TAG FILES`) and dists a
  job builds and uploads with a token (`gh-action-pypi-publish` with `password:`, `twine upload`):
  an attestation step over the same files (`subject-path`) just before the upload.

Subjects are derived exactly (see `attest_subjects`) or the job is refused with the reason. The job
gets `id-token`, `attestations` and `artifact-metadata: write` (+ `packages: write` for ghcr.io) in
its own mapping, or a minimal inferred block. Jobs that already sign (cosign, actions/attest*) and
PyPI trusted publishing (which makes PEP 740 attestations itself) are left alone with a note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.scalarstring import LiteralScalarString

from transforms import oidc
from transforms.attest_explain import explain
from transforms.attest_subjects import Refusal, host_of, image_names, items, release_files, stable, twine_files
from transforms.base import Context, Finding, Severity
from transforms.model import Job, Step, Workflow, load_workflow
from transforms.oidc_plan import fresh_id, label, slug
from transforms.pins import pin
from transforms.publishing import guard
from transforms.yamldoc import Doc
from transforms.yamledit import InsertItem, InsertKey, Op

ID = "attest"
ACTION = "actions/attest-build-provenance"
BUILD_PUSH = "docker/build-push-action"
RELEASE = "softprops/action-gh-release"
PYPI = "pypa/gh-action-pypi-publish"
SIGNERS = ("actions/attest", "actions/attest-build-provenance", "actions/attest-sbom")
COSIGN = re.compile(r"\bcosign\s+(sign|attest)\b")
DIST_BUILD = re.compile(r"\b(python3?\s+-m\s+build|pyproject-build|uv\s+build|poetry\s+build|hatch\s+build"
                        r"|pdm\s+build|flit\s+build|setup\.py\b[^\n]*\b(sdist|bdist_wheel))\b")
LAMBDA = re.compile(r"lambda\s+update-function-code|aws-lambda-deploy|serverless\s+deploy|\bsam\s+deploy")
SCOPES = {"id-token": "write", "attestations": "write", "artifact-metadata": "write"}
REASONS = {"id-token": "signs the provenance attestation (Sigstore certificate)",
           "attestations": "stores the provenance attestation",
           "artifact-metadata": "records the attested artifact",
           "packages": "pushes the attestation to ghcr.io"}


@dataclass
class Plan:
    """The attestation steps for one job, or why there are none."""

    job: Job
    ops: list[Op] = field(default_factory=list)
    refused: str = ""
    subjects: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # image / files
    ghcr: bool = False
    notes: list[str] = field(default_factory=list)


def signer(job: Job) -> str | None:
    """The step that already signs or attests in this job."""
    for step in job.steps:
        if slug(step) in SIGNERS or COSIGN.search(step.run or ""):
            return label(step)
    return None


def _pushes(step: Step) -> bool | None:
    """True for a literal `push: true`, None when an expression decides, False otherwise."""
    value = step.with_.get("push")
    if value is True or str(value).strip().lower() == "true":
        return True
    return None if isinstance(value, str) and "${{" in value else False


def _attest_step(step: Step, name: str, with_: dict[str, Any]) -> tuple[dict[str, Any], dict[Any, str]]:
    p = pin(ACTION)
    return {"name": name, **guard(step), "uses": p.uses, "with": with_}, {("uses",): p.tag}


class _Builder:
    def __init__(self, doc: Doc, wf: Workflow, job: Job, ctx: Context) -> None:
        self.doc, self.wf, self.job, self.ctx = doc, wf, job, ctx
        self.plan = Plan(job)
        self.steps = (*job.path, "steps")

    def image(self, step: Step) -> None:
        pushes = _pushes(step)
        if pushes is None:
            self.plan.notes.append(f'step "{label(step)}" pushes only when `{step.with_.get("push")}`; not attested '
                                   "automatically (add the attestation step with the same condition by hand)")
        if not pushes:
            return
        names = image_names(self.wf, self.job, step)
        sid = str(step.data["id"]) if "id" in step.data else fresh_id(self.job, "build")
        if "id" not in step.data:
            after = "name" if "name" in step.data else "uses"
            self.plan.ops.append(InsertKey(step.path, "id", sid, after=after))
        self.plan.ops += self._build_inputs(step)
        for name in names:
            title = "Attest build provenance" + (f" ({name})" if len(names) > 1 else "")
            value, comments = _attest_step(step, title, {
                "subject-name": name, "subject-digest": f"${{{{ steps.{sid}.outputs.digest }}}}",
                "push-to-registry": True})
            self.plan.ops.append(InsertItem(self.steps, step.index + 1, value, comments=comments))
            self.plan.ghcr |= host_of(self.wf, self.job, name) == "ghcr.io"
        self.plan.subjects += names
        self.plan.kinds.append("image")

    def _build_inputs(self, step: Step) -> list[Op]:
        """BuildKit's own provenance and SBOM, unless the step chose, or they would do harm."""
        with_, path = step.with_, (*step.path, "with")
        runs = " ".join(s.run or "" for j in self.wf.jobs for s in j.steps)
        if LAMBDA.search(runs) or any("lambda" in slug(s) for j in self.wf.jobs for s in j.steps):
            self.plan.notes.append("provenance/sbom inputs not added: AWS Lambda rejects the image index "
                                   "BuildKit makes for them")
            return []
        add: dict[str, Any] = {}
        if "provenance" not in with_:
            if "secrets." in str(with_.get("build-args", "")):
                self.plan.notes.append(f'step "{label(step)}" passes secrets as build-args: `provenance: mode=max` '
                                       "would record their values, so it is not set; use secret mounts")
            else:
                add["provenance"] = "mode=max"
        if "sbom" not in with_:
            add["sbom"] = True
        return [InsertKey(path, k, v, after="push") for k, v in add.items()]

    def files(self, step: Step, paths: list[str], title: str) -> None:
        if not paths:
            return
        for p in paths:
            stable(p, step)
        # One path stays a plain scalar; several become a block list, one per line, as the action reads them.
        subject = paths[0] if len(paths) == 1 else LiteralScalarString("\n".join(paths) + "\n")
        value, comments = _attest_step(step, title, {"subject-path": subject})
        self.plan.ops.append(InsertItem(self.steps, step.index, value, comments=comments))
        self.plan.subjects += paths
        self.plan.kinds.append("files")

    def dists(self, step: Step) -> None:
        builds = any(s.index < step.index and DIST_BUILD.search(s.run or "") for s in self.job.steps)
        if slug(step) == PYPI:
            trusted = "password" not in step.with_ and str(step.with_.get("attestations", "true")).lower() != "false"
            if trusted:
                self.plan.notes.append(f'step "{label(step)}" publishes with trusted publishing, which makes PEP 740 '
                                       "attestations itself; the dists are not attested twice")
            elif builds:
                folder = str(step.with_.get("packages-dir") or "dist").rstrip("/")
                self.files(step, [f"{folder}/*"], "Attest distributions")
        elif builds:
            self.files(step, twine_files(step), "Attest distributions")

    def finish(self) -> Plan:
        plan = self.plan
        scopes = {**SCOPES, **({"packages": "write"} if plan.ghcr else {})}
        # Raised scopes carry their reason too: a reviewer sees why the signing job may now write.
        grant = oidc.grant_ops(self.doc, self.wf, self.job, self.ctx, scopes, REASONS, note_raised=True)
        if isinstance(grant, str):
            plan.refused = grant
        else:
            plan.ops += grant
        return plan


def plan_job(doc: Doc, wf: Workflow, job: Job, ctx: Context) -> Plan | None:
    b = _Builder(doc, wf, job, ctx)
    try:
        for step in job.steps:
            kind = slug(step)
            if kind == BUILD_PUSH:
                b.image(step)
            elif kind == RELEASE and step.with_.get("files"):
                b.files(step, items(step.with_["files"]), "Attest release assets")
            elif step.run is not None and "release upload" in step.run:
                b.files(step, release_files(step), "Attest release assets")
            elif kind == PYPI or "twine" in (step.run or ""):
                b.dists(step)
    except Refusal as exc:
        b.plan.refused = str(exc)
    if not b.plan.subjects:
        return b.plan if b.plan.refused or b.plan.notes else None
    if "pull_request_target" in wf.triggers:
        b.plan.refused = "the workflow runs on pull_request_target: provenance would vouch for fork code"
        return b.plan
    return b.plan if b.plan.refused else b.finish()


def plans(doc: Doc, ctx: Context) -> list[Plan]:
    wf = load_workflow(doc)
    if wf is None or wf.composite:
        return []
    signed = [(j.id, s) for j in wf.jobs if (s := signer(j))]
    if signed:
        job, step = signed[0]
        first = next(j for j in wf.jobs if j.id == job)
        return [Plan(first, notes=[f'already signs or attests (step "{step}" in job `{job}`); left as is'])]
    found = [plan_job(doc, wf, j, ctx) for j in wf.jobs if j.uses is None]
    return [p for p in found if p is not None]


def to_findings(plan: Plan, ctx: Context) -> list[Finding]:
    job = plan.job
    base = {"job": job.id, "subjects": plan.subjects, "kinds": plan.kinds, "ghcr": plan.ghcr,
            "repo": ctx.repo or "OWNER/REPO"}
    out = [Finding(f"{ID}-note", f"job `{job.id}`: {n}", job.line, yaml_path=f"jobs.{job.id}",
                   severity=Severity.NOTE, data={"job": job.id}) for n in plan.notes]
    if plan.refused:
        out.append(Finding(f"{ID}-refused", f"job `{job.id}` publishes without provenance; not attested: "
                           f"{plan.refused}", job.line, yaml_path=f"jobs.{job.id}", data=base))
    elif plan.subjects:
        shown = ", ".join(f"`{s}`" for s in plan.subjects)
        out.append(Finding(ID, f"job `{job.id}` publishes {shown} without build provenance; attest it",
                           job.line, yaml_path=f"jobs.{job.id}", fixable=True, data=base))
    return out


class Attest:
    id = ID
    summary = "Add signed build provenance (actions/attest-build-provenance) to jobs that push images or publish files."
    # Attestations need a public repository, or GitHub Enterprise Cloud for private ones: the step fails
    # elsewhere, so the owner checks the plan before merging.
    safe = False
    intended = ("jobs.*.steps", "jobs.*.permissions")

    def detect(self, doc: Doc, ctx: Context) -> list[Finding]:
        return [f for p in plans(doc, ctx) for f in to_findings(p, ctx)]

    def apply(self, doc: Doc, ctx: Context, findings: list[Finding]) -> list[Op]:
        wanted = {f.data["job"] for f in findings if f.fixable}
        ops = [op for p in plans(doc, ctx) if p.job.id in wanted and not p.refused for op in p.ops]
        # Inserted steps go last, highest index first, so the paths of the other ops stay valid.
        inserts = [op for op in ops if isinstance(op, InsertItem)]
        return [op for op in ops if not isinstance(op, InsertItem)] + inserts

    def explain(self, findings: list[Finding]) -> str:
        return explain(findings)
