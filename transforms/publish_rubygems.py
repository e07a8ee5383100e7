"""publish-rubygems: push gems with RubyGems trusted publishing instead of an API key secret.

`rubygems/configure-rubygems-credentials` (pinned; trusted publishing is its default when no key is
given) is inserted before the step that runs `gem push` / `rake release`. It exports
`GEM_HOST_API_KEY`, `RUBYGEMS_API_KEY` and `BUNDLE_GEM__PUSH_KEY` for the rest of the job, so the
script stays as written (even one that copies `$GEM_HOST_API_KEY` into `~/.gem/credentials`); only
the secret's `env:` entry goes. We do not switch to `rubygems/release-gem`: it also rewrites the git
remote and waits for the release, which the existing script may do differently.
"""

from __future__ import annotations

from transforms import publishing as pub
from transforms import publishing_explain as pubx
from transforms.base import Context, Finding
from transforms.model import Job, Step, Workflow
from transforms.pins import pin
from transforms.yamldoc import Doc
from transforms.yamledit import DeleteKey, Op, ReplaceValue

ID = "publish-rubygems"
ACTION = "rubygems/configure-rubygems-credentials"
RELEASE_GEM = "rubygems/release-gem"
# The variables the action exports (src/configure-api-token.ts): a script reading any of them keeps working.
EXPORTED = ("GEM_HOST_API_KEY", "RUBYGEMS_API_KEY", "BUNDLE_GEM__PUSH_KEY")


def _pushes(step: Step) -> list[str]:
    out = []
    for cmd in pub.run_commands(step):
        words = cmd[2:] if cmd[:2] == ["bundle", "exec"] else cmd
        if words[:2] == ["gem", "push"] or (words[:1] == ["rake"] and any(w.startswith("release") for w in words[1:])):
            out.append(" ".join(words))
    return out


def _action_site(step: Step) -> pub.Site | None:
    """configure-rubygems-credentials given a static `api-token:`: dropping it selects trusted publishing."""
    token = step.with_.get("api-token")
    if not token:
        return None
    site = pub.Site(step, "drop `api-token` so the action uses RubyGems trusted publishing",
                    secrets=pub.secret_refs(token), removed={(*step.path, "with", "api-token")})
    if "role-to-assume" in step.with_:
        site.refusal = "the step also sets `role-to-assume` (an OIDC API key role); migrate by hand"
        return site
    site.ops = [DeleteKey((*step.path, "with"), "api-token") if len(step.with_) > 1 else DeleteKey(step.path, "with")]
    current = pin(ACTION)
    if step.uses is not None and step.uses.ref != current.sha:
        # Trusted publishing as the no-input default is documented for the current major (v2).
        site.ops.append(ReplaceValue((*step.path, "uses"), current.uses, comments={(): current.tag}))
        site.change += f"; pin it to {current.tag}"
    return site


def _run_site(doc: Doc, wf: Workflow, job: Job, step: Step) -> pub.Site | None:
    pushes = _pushes(step)
    var = next((v for n in EXPORTED if (v := pub.find_env(wf, job, step, n)) is not None
                and pub.secret_refs(v.value)), None)
    if not pushes or var is None:
        return None
    site = pub.Site(step, "", secrets=pub.secret_refs(var.value), removed={(*var.owner, "env", var.name)})
    if var.level == "workflow":
        site.refusal = f"{var.name} is set in the workflow-level `env:` that every job shares; move it to the job first"
    elif any("--host" in p for p in pushes):
        site.refusal = "`gem push --host` targets another gem server; trusted publishing is a rubygems.org feature"
    elif any(s.uses is not None and s.uses.slug in (ACTION, RELEASE_GEM) for s in job.steps):
        site.refusal = f"the job already runs {ACTION} or {RELEASE_GEM}; migrate by hand"
    if site.refusal:
        return site
    deleted = pub.delete_env(doc, var, also=EXPORTED)
    if isinstance(deleted, str):
        site.refusal = deleted
        return site
    value, comments = pub.action_step(ACTION, "Configure RubyGems credentials (trusted publishing)", step)
    site.ops = [pub.insert_before(job, step, value, comments), *deleted]
    site.change = (f"get a short-lived RubyGems key from trusted publishing before `{pushes[0]}` "
                   f"instead of {var.name} from a secret")
    return site


def _match(doc: Doc, wf: Workflow, job: Job, step: Step, ctx: Context) -> pub.Site | None:
    ref = step.uses
    if ref is not None and ref.slug == ACTION:
        return _action_site(step)
    if step.run is not None:
        return _run_site(doc, wf, job, step)
    return None


class PublishRubygems:
    id = ID
    summary = "Push gems with RubyGems trusted publishing (OIDC) instead of an API key secret."
    # Only files mentioning one of these can match: gem push, rubygems actions, GEM_HOST_API_KEY.
    requires_text = ("gem",)
    safe = False  # the gem must list this workflow as a trusted publisher on rubygems.org first
    intended = ("jobs.*.steps", "jobs.*.env", "jobs.*.permissions")

    def detect(self, doc: Doc, ctx: Context) -> list[Finding]:
        return [f for f, _ in pub.plan(doc, ctx, ID, "RubyGems", _match)]

    def apply(self, doc: Doc, ctx: Context, findings: list[Finding]) -> list[Op]:
        return pub.chosen_ops(pub.plan(doc, ctx, ID, "RubyGems", _match), findings)

    def explain(self, findings: list[Finding]) -> str:
        fields = pubx.publisher_fields("Repository owner", "Repository name", "Workflow filename", "Environment")
        after = ["A gem that does not exist yet can be created through a *pending* trusted publisher "
                 "(rubygems.org → your profile → Trusted publishers)."]
        return pubx.registration(findings, "RubyGems trusted publishing",
                                "rubygems.org → the gem → Trusted publishers → Create", fields, after)
