"""`StandIn`: a local GitHub (REST, GraphQL, git smart HTTP) for tests and the demo."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import asdict
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

from bot.standin import gitread
from bot.standin.faults import Fault, FaultSet
from bot.standin.gitstore import Author, BareRepo
from bot.standin.state import Installation, Issue, RepoMeta, State, Token, TokenKind, now_iso

META_FILE = "standin.json"


class RequestRecord(NamedTuple):
    method: str
    path: str  # without the query string
    status: int


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops the SYNs of a burst of new connections (8 client threads
    # at once), and each dropped SYN costs the client a 1 s retransmit.
    request_queue_size = 128
    standin: StandIn


class StandIn:
    """A stand-in GitHub serving bare repos under `root` (`root/<owner>/<name>.git`).

    Use as a context manager; `url` is `http://127.0.0.1:PORT`, the REST API lives under
    `api_url` (GitHub Enterprise layout), GraphQL at `graphql_url`.
    """

    def __init__(
        self,
        root: str | Path,
        port: int = 0,
        app_id: int = 1,
        app_public_key: str | bytes | None = None,
        app_slug: str = "ztbot",
        graphql_schema: str | Path | None = None,
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.app_id, self.app_slug, self.app_public_key = app_id, app_slug, app_public_key
        self.graphql_schema = graphql_schema
        self.state = State()
        self.faults = FaultSet()
        self.requests: list[RequestRecord] = []
        self._log_lock = threading.Lock()
        self._repos: dict[tuple[str, str], RepoMeta] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._load_existing()

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> StandIn:
        from bot.standin.handler import RequestHandler

        self._server = _Server(("127.0.0.1", self.port), RequestHandler)
        self._server.standin = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        gitread.close_readers(self.root)  # the cat-file processes kept open for these repos

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- URLs ------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v3"

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/api/graphql"

    def clone_url(self, owner: str, name: str) -> str:
        return f"{self.url}/{owner}/{name}.git"

    # -- accounts, tokens, installations -------------------------------------------------------------
    def add_token(
        self,
        login: str = "ztbot-user",
        kind: TokenKind = "oauth",
        value: str | None = None,
        scopes: Iterable[str] = ("repo", "workflow"),
        rate_limit: int = 5000,
    ) -> str:
        """Register a token the server will accept; returns its value."""
        token = self.state.add_token(login, kind, value, scopes=tuple(scopes))
        token.budget("core").limit = rate_limit
        return token.value

    def token(self, value: str) -> Token:
        return self.state.tokens[value]

    def add_user(self, login: str) -> None:
        self.state.account(login, "User")

    def add_org(self, login: str) -> None:
        self.state.account(login, "Organization")

    def add_installation(
        self,
        account: str,
        permissions: dict[str, str] | None = None,
        repositories: list[str] | None = None,
        installation_id: int | None = None,
    ) -> int:
        """Install the app on `account`; `repositories=None` means all of them."""
        ident = installation_id or self.state.next_id()
        perms = permissions or {
            "contents": "write",
            "pull_requests": "write",
            "metadata": "read",
            "workflows": "write",
            "issues": "write",
        }
        self.state.installations[ident] = Installation(
            ident, account, self.app_id, self.app_slug, perms, repositories
        )
        self.state.account(account)
        return ident

    def installation_token(self, installation_id: int) -> str:
        """Mint an installation token directly (what POST /app/installations/{id}/access_tokens does)."""
        inst = self.state.installations[installation_id]
        token = self.state.add_token(
            f"{self.app_slug}[bot]",
            "installation",
            permissions=dict(inst.permissions),
            installation_id=installation_id,
        )
        return token.value

    # -- repositories --------------------------------------------------------------------------------
    def repo_dir(self, owner: str, name: str) -> Path:
        return self.root / owner / f"{name}.git"

    def bare(self, owner: str, name: str) -> BareRepo:
        return BareRepo(self.repo_dir(owner, name))

    def create_repo(
        self,
        owner: str,
        name: str,
        files: dict[str, str | bytes] | None = None,
        default_branch: str = "main",
        archived: bool = False,
        fork: bool = False,
        private: bool = False,
        topics: Iterable[str] = (),
        **meta: Any,
    ) -> RepoMeta:
        """A bare repo with one commit holding `files` (none at all = an empty repository)."""
        self.state.account(owner)
        repo = BareRepo.init(self.repo_dir(owner, name), default_branch)
        if files:
            repo.commit_files(default_branch, dict(files), "Initial commit", Author())
        info = RepoMeta(self.state.next_id(), owner, name, private, archived, fork, list(topics), **meta)
        self._repos[(owner.lower(), name.lower())] = info
        self.save_meta(info)
        return info

    def commit(
        self,
        owner: str,
        name: str,
        files: dict[str, str | bytes | None],
        branch: str | None = None,
        message: str = "Update files",
        author: Author | tuple[str, str] | None = None,
        base: str | None = None,
    ) -> str:
        """Simulate a human commit on `branch` (created from `base` or the default branch)."""
        repo = self.bare(owner, name)
        branch = branch or repo.head_branch()
        who = Author(*author) if isinstance(author, tuple) else (author or Author())
        return repo.commit_files(branch, files, message, who, base=base or repo.head_branch())

    def update_repo(self, owner: str, name: str, **fields: Any) -> RepoMeta:
        """Change metadata (archived, private, topics, secrets, variables, default_branch...)."""
        info = self.repo(owner, name)
        assert info is not None, f"no repository {owner}/{name}"
        if "default_branch" in fields:
            self.bare(owner, name).set_head(fields.pop("default_branch"))
        for key, value in fields.items():
            setattr(info, key, value)
        self.save_meta(info)
        return info

    def repo(self, owner: str, name: str) -> RepoMeta | None:
        return self._repos.get((owner.lower(), name.lower()))

    def repos(self, owner: str | None = None) -> list[RepoMeta]:
        found = [m for m in self._repos.values() if owner is None or m.owner.lower() == owner.lower()]
        return sorted(found, key=lambda m: m.full_name.lower())

    def save_meta(self, info: RepoMeta) -> None:
        (self.repo_dir(info.owner, info.name) / META_FILE).write_text(json.dumps(asdict(info), indent=1))

    def _load_existing(self) -> None:
        # The CLI may be pointed at a root seeded earlier; bare repos without metadata still count.
        for path in sorted(self.root.glob("*/*.git")):
            owner, name = path.parent.name, path.name.removesuffix(".git")
            meta_file = path / META_FILE
            data = (
                json.loads(meta_file.read_text())
                if meta_file.exists()
                else {"id": self.state.next_id(), "owner": owner, "name": name}
            )
            self._repos[(owner.lower(), name.lower())] = RepoMeta(**data)
            self.state.account(owner)

    # -- rules, protection ----------------------------------------------------------------------
    def add_ruleset(self, owner: str, name: str, ruleset: dict[str, Any]) -> dict[str, Any]:
        from bot.standin.rest_admin import store_ruleset

        return store_ruleset(self, f"{owner}/{name}", ruleset)

    def set_branch_protection(self, owner: str, name: str, branch: str, protection: dict[str, Any]) -> None:
        self.state.protection[(f"{owner}/{name}".lower(), branch)] = protection

    def merge(self, owner: str, name: str, number: int, author: Author | None = None) -> str:
        """Merge pull request `number` with a merge commit, as a human pressing the button would."""
        meta = self.repo(owner, name)
        assert meta is not None
        issue = self.state.get_issue(meta.full_name, number)
        assert issue is not None and issue.pull is not None
        repo, pull = self.bare(owner, name), issue.pull
        head, base = (
            repo.resolve(f"refs/heads/{pull.head_ref}") or pull.head_sha,
            repo.resolve(f"refs/heads/{pull.base_ref}"),
        )
        assert base is not None
        tree = repo.text("merge-tree", "--write-tree", base, head).split()[0]
        message = f"Merge pull request #{number} from {pull.head_owner}/{pull.head_ref}\n\n{issue.title}"
        sha = repo.commit_tree(tree, [base, head], message, author or Author())
        repo.update_ref(f"refs/heads/{pull.base_ref}", sha, base)
        with self.state.lock:
            pull.head_sha, pull.base_sha = head, base
            pull.merged_at = issue.closed_at = now_iso()
            issue.state = "closed"
            issue.touch()
        return sha

    # -- inspection ----------------------------------------------------------------------------
    def pulls(self, owner: str, name: str, state: str = "all") -> list[Issue]:
        issues = self.state.repo_issues(f"{owner}/{name}")
        return [i for i in issues if i.pull and state in ("all", i.state)]

    def issues(self, owner: str, name: str, state: str = "all") -> list[Issue]:
        issues = self.state.repo_issues(f"{owner}/{name}")
        return [i for i in issues if not i.pull and state in ("all", i.state)]

    def comments(self, owner: str, name: str, number: int) -> list[str]:
        issue = self.state.get_issue(f"{owner}/{name}", number)
        return [self.state.comments[c].body for c in issue.comment_ids] if issue else []

    def open_issue_count(self, meta: RepoMeta) -> int:
        return sum(1 for i in self.state.repo_issues(meta.full_name) if i.state == "open")

    def log(self, method: str, path: str, status: int) -> None:
        with self._log_lock:
            self.requests.append(RequestRecord(method, path, status))

    def count(self, method: str | None = None, path: str | None = None, status: int | None = None) -> int:
        """How many logged requests match (path is a regex searched in the path)."""
        import re

        return sum(
            1
            for r in list(self.requests)
            if (method is None or r.method == method)
            and (status is None or r.status == status)
            and (path is None or re.search(path, r.path))
        )

    def inject(self, **rule: Any) -> Fault:
        """Add a fault rule (see `Fault`); returns it so tests can read `hits`."""
        return self.faults.add(Fault(**rule))
