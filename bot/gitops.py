"""Commit planned files onto the bot branch and push it, with gitpython.

The clone is partial and shallow (`--filter=blob:none --depth 1`, no checkout): the commit is built
from the head tree plus new blobs; at most the old versions of the changed files are fetched
(as delta bases when pushing), never the rest of the repository.
The token travels as an HTTP header set through `GIT_CONFIG_*` environment variables: it is in
neither the remote URL, the repository config, the command line nor any log line.
"""

from __future__ import annotations

import base64
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from io import BytesIO
from urllib.parse import urlsplit

from git import Actor, Commit, GitCommandError, Repo
from git.index import IndexFile
from git.index.typ import BaseIndexEntry
from gitdb import IStream  # type: ignore[import-untyped]

from bot.errors import ZtbotError

FILE_MODE = 0o100644
# GitHub's per-ref status: `! [remote rejected] ... (refusing to allow a GitHub App to create or update workflow ...)`.
REFUSAL = re.compile(r"\((refusing to allow [^)]*)\)")
WORKFLOW_HINT = ("grant the GitHub App the `Workflows: write` permission, or give the token the `workflow` scope "
                 "(fine-grained token: `Workflows: read and write`)")


class GitOpsError(ZtbotError):
    """A clone, commit or push failed; the message never contains the token."""


class WorkflowScopeError(GitOpsError):
    """GitHub refused the push because the credentials may not change `.github/workflows/`."""


@dataclass(frozen=True)
class Push:
    repo: str  # owner/name, for messages
    clone_url: str
    token: str
    default_branch: str
    base_sha: str  # the default-branch head the plan was made on
    branch: str
    files: Mapping[str, str]  # repo-relative path -> new text
    message: str
    author: Actor
    lease: str | None = None  # current remote branch head, when the branch exists and is ours


def auth_env(token: str, url: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """`http.<origin>.extraHeader` via GIT_CONFIG_COUNT/KEY_n/VALUE_n, appended to any the caller has.

    Scoping the header to the server's origin keeps it from following redirects or submodules elsewhere.
    """
    env = dict(os.environ if environ is None else environ)
    count = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
    parts = urlsplit(url)
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    env.update({"GIT_CONFIG_COUNT": str(count + 1), f"GIT_CONFIG_KEY_{count}": f"http.{parts.scheme}://{parts.netloc}/.extraHeader",
                f"GIT_CONFIG_VALUE_{count}": f"Authorization: Basic {basic}", "GIT_TERMINAL_PROMPT": "0"})
    return env


def redact(text: str, token: str) -> str:
    """Belt and braces: git never echoes the header, but an error message must not leak it if it did."""
    if not token:
        return text
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return text.replace(basic, "***").replace(token, "***")


def publish(push: Push) -> str:
    """Clone, commit `files` on top of `base_sha` and push to `branch`; returns the pushed commit sha."""
    env = auth_env(push.token, push.clone_url)
    with tempfile.TemporaryDirectory(prefix="ztbot-") as tmp:
        try:
            repo = _clone(push, env, tmp)
            sha = _commit(repo, push)
            _push(repo, push, sha)
            return sha
        except GitCommandError as exc:
            raise _explain(exc, push) from None
        finally:
            if "repo" in locals():
                repo.close()


def _clone(push: Push, env: dict[str, str], tmp: str) -> Repo:
    options = ["--filter=blob:none", "--depth=1", f"--branch={push.default_branch}", "--single-branch",
               "--no-checkout", "--quiet"]
    repo = Repo.clone_from(push.clone_url, os.path.join(tmp, "repo"), env=env, multi_options=options)
    repo.git.update_environment(**env)  # later commands (fetch of missing trees, push) authenticate too
    head = repo.head.commit.hexsha
    if push.base_sha and head != push.base_sha:
        # Committing on a newer head could silently undo edits made since the scan.
        raise GitOpsError(f"{push.repo}: {push.default_branch} moved during the run ({push.base_sha[:7]} -> "
                          f"{head[:7]})", "nothing was pushed; the next run plans on the new head")
    return repo


def _commit(repo: Repo, push: Push) -> str:
    head = repo.head.commit
    index = IndexFile.from_tree(repo, head)  # trees only: a blob:none clone has them all
    entries = [_entry(repo, index, path, text) for path, text in sorted(push.files.items())]
    index.add(entries, write=False)
    tree = index.write_tree()
    commit = Commit.create_from_tree(repo, tree, push.message, parent_commits=[head], head=False,
                                     author=push.author, committer=push.author)
    return commit.hexsha


def _entry(repo: Repo, index: IndexFile, path: str, text: str) -> BaseIndexEntry:
    data = text.encode("utf-8")
    blob = repo.odb.store(IStream("blob", len(data), BytesIO(data)))
    old = index.entries.get((path, 0))
    mode = old.mode if old is not None else FILE_MODE  # keep an executable bit as it was
    return BaseIndexEntry((mode, blob.binsha, 0, path))


def _push(repo: Repo, push: Push, sha: str) -> None:
    ref = f"refs/heads/{push.branch}"
    args = ["--porcelain", "origin", f"{sha}:{ref}"]
    if push.lease:
        # Overwrite only the commit we pushed ourselves: a human push in between makes this fail.
        args.insert(0, f"--force-with-lease={ref}:{push.lease}")
    repo.git.push(*args)


def _explain(exc: GitCommandError, push: Push) -> GitOpsError:
    stderr = redact(f"{exc.stderr or ''}{exc.stdout or ''}", push.token).strip()
    refusal = REFUSAL.search(stderr)
    if refusal and "workflow" in refusal.group(1):
        detail = refusal.group(1)
        return WorkflowScopeError(f"{push.repo}: GitHub refused the push of {push.branch}: {detail}", WORKFLOW_HINT)
    if "stale info" in stderr or "fetch first" in stderr or "non-fast-forward" in stderr:
        return GitOpsError(f"{push.repo}: {push.branch} changed on GitHub while we pushed; nothing was overwritten",
                           "the next run looks at the branch again")
    command = " ".join(str(a) for a in exc.command[:2])
    last = stderr.splitlines()[-1] if stderr else f"exit status {exc.status}"
    return GitOpsError(f"{push.repo}: `{command}` failed: {last}", "check the token's access to the repository")
