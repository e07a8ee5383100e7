"""publish-nuget: push to nuget.org with trusted publishing instead of an API key secret.

`NuGet/login` (pinned, `id: login`) is inserted before the push; it turns the job's OIDC token into a
one-hour API key (`steps.login.outputs.NUGET_API_KEY`). The push's `--api-key` then reads that output:
the `${{ secrets.X }}` expression is edited in place (block scalars too, via the core's EditText op),
or the `env:` variable the script passes (`--api-key $NUGET_KEY`) gets the output as its value.
`user:` (the nuget.org profile name, not an e-mail) comes from the `user` option, else `vars.NUGET_USER`.
"""

from __future__ import annotations

import re

from transforms import oidc
from transforms import publishing as pub
from transforms import publishing_explain as pubx
from transforms.base import Context, Finding
from transforms.model import Job, Step, Workflow
from transforms.yamldoc import Doc
from transforms.yamledit import Op, ReplaceValue

ID = "publish-nuget"
ACTION = "NuGet/login"
KEY_FLAGS = ("--api-key", "-k", "-ApiKey", "-apikey")
SOURCE_FLAGS = ("--source", "-s", "-Source", "-source")
NUGET_ORG = re.compile(r"^(https?://(api|www)\.nuget\.org(/.*)?|nuget\.org)$", re.I)
VAR_REF = re.compile(r"^\$(?:env:)?\{?([A-Za-z_]\w*)\}?$")


def _flag(words: list[str], names: tuple[str, ...]) -> str | None:
    for i, w in enumerate(words):
        name, eq, val = w.partition("=")
        if name in names:
            return val if eq else (words[i + 1] if i + 1 < len(words) else "")
    return None


def _pushes(step: Step) -> list[list[str]]:
    out = []
    for cmd in pub.run_commands(step):
        words = cmd[1:] if cmd[:1] == ["dotnet"] else cmd
        if words[:2] == ["nuget", "push"] or (cmd[:1] in (["nuget"], ["nuget.exe"]) and cmd[1:2] == ["push"]):
            out.append(cmd)
    return out


def _match(doc: Doc, wf: Workflow, job: Job, step: Step, ctx: Context) -> pub.Site | None:
    if step.run is None:
        return None
    pushes = [p for p in _pushes(step) if _flag(p, KEY_FLAGS)]
    if not pushes:
        return None
    keys = {_flag(p, KEY_FLAGS) or "" for p in pushes}
    sources = {_flag(p, SOURCE_FLAGS) for p in pushes}
    inline = {n for k in keys for n in pub.secret_refs(k)}
    env_names = {m.group(1) for k in keys if (m := VAR_REF.match(k))}
    vars_ = [v for n in sorted(env_names) if (v := pub.find_env(wf, job, step, n)) and pub.secret_refs(v.value)]
    if not inline and not vars_:
        return None
    site = pub.Site(step, "", secrets=inline | {s for v in vars_ for s in pub.secret_refs(v.value)})
    site.refusal = _refusal(sources, vars_)
    if site.refusal:
        return site
    step_id = pub.free_id(job, "login", "nuget-login")
    key = "${{ steps." + step_id + ".outputs.NUGET_API_KEY }}"
    ops = _key_ops(step, inline, vars_, key, site)
    if isinstance(ops, str):
        site.refusal = ops
        return site
    values = oidc.Values(ctx)
    user = values.get("user", "NUGET_USER", "nuget.org profile name (not e-mail) owning the trusted publishing policy")
    value, comments = pub.action_step(ACTION, "Log in to nuget.org (trusted publishing)", step, {"user": user},
                                      step_id=step_id)
    site.ops = [pub.insert_before(job, step, value, comments), *ops]
    site.extra["variables"] = values.variables
    site.extra["user"] = user
    site.change = f"push with a one-hour key from trusted publishing (`{key}`) instead of the secret"
    return site


def _refusal(sources: set[str | None], vars_: list[pub.EnvVar]) -> str | None:
    if any(s is None for s in sources):
        return ("the push names no `--source`, so it cannot be shown to go to nuget.org "
                "(the only trusted-publishing feed)")
    other = sorted(s for s in sources if s and not NUGET_ORG.match(s))
    if other:
        return f"it pushes to `{other[0]}`; trusted publishing is a nuget.org feature"
    if any(v.level == "workflow" for v in vars_):
        return "the key is set in the workflow-level `env:` that every job shares; move it to the job first"
    return None


def _key_ops(step: Step, inline: set[str], vars_: list[pub.EnvVar], key: str, site: pub.Site) -> list[Op] | str:
    ops: list[Op] = []
    if inline:
        swapped = pub.swap_secret(step, "run", inline, key)
        if isinstance(swapped, str):
            return swapped
        ops += swapped
        site.removed.add((*step.path, "run"))
    for var in vars_:
        if var.level != "step":
            return f"`{var.name}` is set in the job's `env:`, where the login step's output is not available"
        ops.append(ReplaceValue((*step.path, "env", var.name), key))
        site.removed.add((*step.path, "env", var.name))
    return ops


class PublishNuget:
    id = ID
    summary = "Push to nuget.org with trusted publishing (OIDC) instead of an API key secret."
    # Only files mentioning one of these can match: dotnet nuget push, NuGet/login.
    requires_text = ("nuget",)
    safe = False  # a trusted publishing policy must exist on nuget.org first
    intended = ("jobs.*.steps", "jobs.*.env", "jobs.*.permissions")

    def detect(self, doc: Doc, ctx: Context) -> list[Finding]:
        return [f for f, _ in pub.plan(doc, ctx, ID, "NuGet", _match)]

    def apply(self, doc: Doc, ctx: Context, findings: list[Finding]) -> list[Op]:
        return pub.chosen_ops(pub.plan(doc, ctx, ID, "NuGet", _match), findings)

    def explain(self, findings: list[Finding]) -> str:
        fields = [
            *pubx.publisher_fields("Repository Owner", "Repository", "Workflow File", "Environment"),
            ("`user:` in the workflow", lambda f: f"`{f.data.get('user', '')}`"),
        ]
        variables = sorted({v for f in findings if f.fixable for v in f.data.get("variables", {})})
        after = [f"Create the repository variable `{v}` = the nuget.org profile name (not the e-mail) that owns "
                 "the policy." for v in variables]
        after += ["A private repository's policy stays \"temporarily active\" for 7 days until a first publish."]
        return pubx.registration(findings, "NuGet trusted publishing",
                                "nuget.org → your user name → Trusted Publishing → Add policy", fields, after)
