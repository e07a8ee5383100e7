"""Python scripts that build cloud clients from static keys: find them and rewrite them keylessly.

After an OIDC migration the job holds *temporary* credentials (AWS adds `AWS_SESSION_TOKEN`; GCP
points `GOOGLE_APPLICATION_CREDENTIALS` at an external-account file). A script that passes the key
id and secret to boto3 explicitly drops the session token and fails; a script that loads a
service-account key file fails because there is none. Both work again once the client falls back
to the SDK's default credential chain, which is what these rewrites do.

The rewrites are format-preserving (LibCST): only the offending call changes. They are pure
functions: `(source) -> (new_source, changes)`; `changes` also lists what was found but left
alone (`applied=False`, with the reason), so a caller can refuse with a precise message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor
from libcst.metadata import MetadataWrapper, PositionProvider, QualifiedNameProvider

AWS_KEY_ARGS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
# Callees that accept the key arguments: module-level helpers, Session, and a session's factories.
BOTO3_CALLEES = ("boto3.client", "boto3.resource", "boto3.Session", "boto3.session.Session")
SESSION_METHODS = ("client", "resource")
GCP_FACTORIES = (
    "google.oauth2.service_account.Credentials.from_service_account_file",
    "google.oauth2.service_account.Credentials.from_service_account_info",
)
# Keyword arguments of the GCP factories that `google.auth.default` can take over unchanged.
GCP_KEPT_KWARGS = ("scopes",)


@dataclass(frozen=True)
class Change:
    """One credential call: rewritten (`applied`) or left alone with the reason."""

    line: int
    call: str
    detail: str
    applied: bool = True


# ---------------------------------------------------------------- shared helpers


def _dotted(node: cst.BaseExpression) -> str:
    """`a.b.c` for a Name/Attribute chain; "" otherwise."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr.value}" if base else ""
    return ""


ENV_READ = m.OneOf(
    m.Subscript(value=m.Attribute(value=m.Name("os"), attr=m.Name("environ"))),
    m.Subscript(value=m.Name("environ")),
    m.Call(func=m.Attribute(value=m.Attribute(value=m.Name("os"), attr=m.Name("environ")), attr=m.Name("get"))),
    m.Call(func=m.Attribute(value=m.Name("environ"), attr=m.Name("get"))),
    m.Call(func=m.Attribute(value=m.Name("os"), attr=m.Name("getenv"))),
    m.Call(func=m.Name("getenv")),
)


def _env_names(module: cst.Module) -> set[str]:
    """Module-level names assigned exactly once, from an environment read (`KEY = os.environ[...]`)."""
    seen: dict[str, int] = {}
    from_env: set[str] = set()
    for stmt in module.body:
        if not m.matches(stmt, m.SimpleStatementLine()):
            continue
        for small in stmt.body:  # type: ignore[attr-defined,union-attr]
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target = small.targets[0].target
                if isinstance(target, cst.Name):
                    seen[target.value] = seen.get(target.value, 0) + 1
                    if m.matches(small.value, ENV_READ):
                        from_env.add(target.value)
    return {name for name in from_env if seen[name] == 1}


def _drop_args(call: cst.Call, drop: Sequence[cst.Arg]) -> cst.Call:
    """Remove `drop` from a call's arguments keeping the call's own comma and line layout."""
    kept = [a for a in call.args if a not in drop]
    if not kept:
        return call.with_changes(args=(), whitespace_before_args=cst.SimpleWhitespace(""))
    last = call.args[-1]
    if kept[-1] is not last:
        # The removed tail carried the closing layout (trailing comma, newline before `)`).
        kept[-1] = kept[-1].with_changes(comma=last.comma, whitespace_after_arg=last.whitespace_after_arg)
    return call.with_changes(args=kept)


class _Rewriter(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider)

    def __init__(self) -> None:
        super().__init__()
        self.changes: list[Change] = []

    def _line(self, node: cst.CSTNode) -> int:
        return self.get_metadata(PositionProvider, node).start.line

    def _qualified(self, node: cst.Call) -> set[str]:
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node.func, set())}


# ---------------------------------------------------------------- boto3


class _Boto3(_Rewriter):
    def __init__(self, env_names: set[str]) -> None:
        super().__init__()
        self.env_names = env_names

    def _callee(self, node: cst.Call) -> str | None:
        names = self._qualified(node)
        hit = next((n for n in BOTO3_CALLEES if n in names), None)
        if hit:
            return hit
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in SESSION_METHODS:
            return _dotted(node.func) or node.func.attr.value
        return None

    def _from_env(self, value: cst.BaseExpression) -> bool:
        return m.matches(value, ENV_READ) or (isinstance(value, cst.Name) and value.value in self.env_names)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
        keys = [a for a in updated.args if a.keyword is not None and a.keyword.value in AWS_KEY_ARGS]
        callee = self._callee(original) if keys else None
        if callee is None:
            return updated
        names = ", ".join(a.keyword.value for a in keys if a.keyword is not None)
        line = self._line(original)
        if not all(self._from_env(a.value) for a in keys):
            self.changes.append(Change(line, callee, f"{names} not read from the environment; "
                                       "remove the hard-coded or derived keys by hand", applied=False))
            return updated
        self.changes.append(Change(line, callee, f"dropped {names}: the default credential chain reads "
                                   "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN"))
        return _drop_args(updated, keys)


def _run(source: str, visitor: _Rewriter) -> tuple[cst.Module, list[Change]]:
    wrapper = MetadataWrapper(cst.parse_module(source))
    module = wrapper.visit(visitor)
    return module, sorted(visitor.changes, key=lambda c: c.line)


def rewrite_boto3(source: str) -> tuple[str, list[Change]]:
    """Drop explicit key arguments from boto3 calls that read them from the environment."""
    module, changes = _run(source, _Boto3(_env_names(cst.parse_module(source))))
    return module.code, changes


# ---------------------------------------------------------------- GCP service-account keys


class _Gcp(_Rewriter):
    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        factory = next((n for n in GCP_FACTORIES if n in self._qualified(original)), None)
        if factory is None:
            return updated
        short = factory.rsplit(".", 2)[-2] + "." + factory.rsplit(".", 1)[-1]
        line = self._line(original)
        other = [a.keyword.value if a.keyword else "positional" for a in updated.args[1:]
                 if a.keyword is None or a.keyword.value not in GCP_KEPT_KWARGS]
        if other or not updated.args or updated.args[0].keyword is not None:
            why = f"arguments {', '.join(other)} have no keyless equivalent" if other else "unexpected arguments"
            self.changes.append(Change(line, short, f"{why}; rewrite by hand", applied=False))
            return updated
        kept = list(updated.args[1:])
        layout = {} if kept else {"whitespace_before_args": cst.SimpleWhitespace("")}
        call = updated.with_changes(func=cst.parse_expression("google.auth.default"), args=kept, **layout)
        self.changes.append(Change(line, short, "replaced by google.auth.default(...)[0]: Application Default "
                                   "Credentials pick up the workload identity federation file"))
        return cst.Subscript(value=call, slice=[cst.SubscriptElement(cst.Index(cst.Integer("0")))])


def rewrite_gcp_credentials(source: str) -> tuple[str, list[Change]]:
    """Replace service-account key loading with Application Default Credentials."""
    module, changes = _run(source, _Gcp())
    if not any(c.applied for c in changes):
        return source, changes
    context = CodemodContext()
    AddImportsVisitor.add_needed_import(context, "google.auth")
    RemoveImportsVisitor.remove_unused_import(context, "google.oauth2", "service_account")
    module = AddImportsVisitor(context).transform_module(module)
    module = RemoveImportsVisitor(context).transform_module(module)
    return module.code, changes
