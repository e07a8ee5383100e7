"""Listing repositories and reading the bot's files from many of them, in as few requests as possible.

Cold scan: one GraphQL page per 100 repositories, then one GraphQL query per `batch_size` repositories.
Warm scan: the same listing, then files only for repositories whose default-branch head moved. The
first page also carries the files of the few most recently pushed repositories, so when only those
moved (the usual case between two scans) the whole warm scan is one request per listing page.
"""

from __future__ import annotations

import base64
import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from github.PaginatedList import PaginatedList
from github.Repository import Repository

from bot.github.errors import GitHubError, NotFound
from bot.github.models import ACTIONS_DIR, RepoFiles, RepoInfo
from bot.github.queries import OBJECTS, PAGE_SIZE, files_query, list_query
from bot.github.transport import Transport

log = logging.getLogger(__name__)

Target = Literal["org", "user", "installation"]
YAML_SUFFIXES = (".yml", ".yaml")


class NoSuchOwner(NotFound):
    """GraphQL answered, and the org or user does not exist (no point in asking REST)."""


@dataclass
class ScanResult:
    repos: list[RepoInfo]  # everything listed (and kept by `want`)
    fetched: list[RepoFiles] = field(default_factory=list)  # repos whose files were read this time
    unchanged: list[RepoInfo] = field(default_factory=list)  # head oid equal to the known one: not read


class RepoScanner:
    """Listing and file fetching; mixed into `GitHubClient`, which provides the attributes below."""

    transport: Transport
    target: Target
    login: str
    batch_size: int

    # -- listing ---------------------------------------------------------------------------------
    def list_repos(self, with_topics: bool = False) -> list[RepoInfo]:
        """Every repository of the org / user / installation, 100 per request."""
        return [repo for page in self.repo_pages(with_topics) for repo in page]

    def repo_pages(self, with_topics: bool = False,
                   recent: dict[str, dict[str, Any]] | None = None) -> Iterator[list[RepoInfo]]:
        """The listing one page (one request) at a time, so callers can start work on a page early.

        With `recent`, the first page also fills it: lower-cased full name -> the head commit, with the
        bot's files, of the most recently pushed repositories (left empty when listing over REST).
        """
        login = self.login or self._installation_owner()
        pages = self._graphql_pages(login, with_topics, recent)
        try:
            first = next(pages)
        except StopIteration:
            return
        except GitHubError as err:
            if err.status not in (400, 404) or isinstance(err, NoSuchOwner):
                raise
            # GraphQL switched off (some GHES setups) or a field this server lacks: REST lists too.
            log.info("GraphQL listing unavailable (%s); listing over REST", err.message)
            yield from self._rest_pages(login)
            return
        yield first
        yield from pages

    def _graphql_pages(self, login: str, with_topics: bool,
                       recent: dict[str, dict[str, Any]] | None) -> Iterator[list[RepoInfo]]:
        cursor: str | None = None
        query = list_query(with_topics)
        while True:
            if cursor is None and recent is not None:
                answer = self._first_page_with_recent(login, list_query(with_topics, recent=True), query)
            else:
                answer = self._list_page(login, query, cursor)
            owner = (answer.get("data") or {}).get("repositoryOwner")
            if owner is None:
                raise NoSuchOwner(f"list repos of {login}", f"no organization or user named {login!r}", 404,
                               hint="check github.name and github.target in ztbot.toml")
            page = owner["repositories"]
            if None in page["nodes"]:  # a field failed on some repository: never drop it silently
                raise GitHubError(f"list repos of {login}", _messages(answer) or "null repository", 400)
            if recent is not None and cursor is None:
                recent.update(_recent_heads(owner, answer))
            # A user's listing also holds repositories they only collaborate on: keep their own.
            yield [_repo_info(n) for n in page["nodes"] if n and n["owner"]["login"].lower() == login.lower()]
            if not page["pageInfo"]["hasNextPage"]:
                return
            cursor = page["pageInfo"]["endCursor"]

    def _list_page(self, login: str, query: str, cursor: str | None) -> dict[str, Any]:
        return self.transport.graphql(query, {"login": login, "cursor": cursor}, what=f"list repos of {login}")

    def _first_page_with_recent(self, login: str, with_recent: str, plain: str) -> dict[str, Any]:
        """The first page with the recent repositories' files, or plain if the server refuses that document."""
        try:
            answer = self._list_page(login, with_recent, None)
        except GitHubError as err:
            if err.status != 400:
                raise
            refused = err.message
        else:
            if (answer.get("data") or {}).get("repositoryOwner") is not None or not _recent_failed(answer):
                return answer
            refused = _messages(answer)
        # A server without `orderBy` or `Commit.file` (an older GHES) rejects the document: the listing
        # must not fail (or fall back to REST) for an optimisation; the batched fetch reads the changes.
        log.info("listing with recent files refused (%s); listing without", refused)
        return self._list_page(login, plain, None)

    def _rest_pages(self, login: str) -> Iterator[list[RepoInfo]]:
        requester = self.transport.github.requester
        if self.target == "installation":
            pages = PaginatedList(Repository, requester, "/installation/repositories", None, list_item="repositories")
        else:
            kind = "orgs" if self.target == "org" else "users"
            pages = PaginatedList(Repository, requester, f"/{kind}/{login}/repos", {"type": "owner"})
        for number in range(10_000):
            page = self.transport.read(f"GET repos of {login} page {number + 1}",
                                       functools.partial(_page, pages, number))
            yield [_rest_repo_info(r) for r in page]
            if len(page) < PAGE_SIZE:
                return

    def _installation_owner(self) -> str:
        """The account an installation is on, from its first repository (one request)."""
        _, data = self.transport.read("GET /installation/repositories", lambda: self.transport.github.requester
                                      .requestJsonAndCheck("GET", "/installation/repositories", {"per_page": 1}))
        repos = data.get("repositories") or []
        if not repos:
            raise NotFound("GET /installation/repositories", "the installation sees no repositories", 404)
        self.login = repos[0]["owner"]["login"]
        return self.login

    # -- files -------------------------------------------------------------------------------------
    def fetch_files(self, repos: Iterable[RepoInfo]) -> list[RepoFiles]:
        """Workflows, local actions and the opt-out file of each repo; batches run concurrently."""
        todo = list(repos)
        batches = [todo[i:i + self.batch_size] for i in range(0, len(todo), self.batch_size)]
        results = [r for batch in self.transport.map_reads(self._fetch_batch, batches) for r in batch]
        self.transport.map_reads(self._complete_from_rest, [r for r in results if r.errors])
        return results

    def scan(self, known: Mapping[str, str] | None = None, want: Callable[[RepoInfo], bool] | None = None,
             with_topics: bool = False) -> ScanResult:
        """List, and read the files of repos whose head oid differs from `known[full_name]`.

        File batches start while later listing pages are still coming: the two overlap.
        """
        known = known or {}
        result = ScanResult([])
        pending: list[RepoInfo] = []
        early: list[RepoFiles] = []  # read from the first page's recently pushed repositories
        # Only a warm scan asks for them: a cold one reads every repository in batches anyway.
        recent: dict[str, dict[str, Any]] | None = {} if known else None
        with self.transport.pool(reserve=1) as pool:  # one slot stays with the listing
            futures: list[Future[list[RepoFiles]]] = []
            for page in self.repo_pages(with_topics, recent):
                for repo in page:
                    if want is not None and not want(repo):
                        continue
                    result.repos.append(repo)
                    if repo.head_oid is not None and known.get(repo.full_name) == repo.head_oid:
                        result.unchanged.append(repo)
                    elif repo.empty:
                        result.fetched.append(RepoFiles(repo))  # nothing to read
                    elif (files := _recent_files(repo, recent)) is not None:
                        early.append(files)
                    else:
                        pending.append(repo)
                while len(pending) >= self.batch_size:
                    futures.append(pool.submit(self._fetch_batch, pending[:self.batch_size]))
                    pending = pending[self.batch_size:]
            if pending:
                futures.append(pool.submit(self._fetch_batch, pending))
            fetched = early + [files for future in futures for files in future.result()]
        self.transport.map_reads(self._complete_from_rest, [r for r in fetched if r.errors])
        result.fetched = fetched + result.fetched
        return result

    def _fetch_batch(self, batch: Sequence[RepoInfo]) -> list[RepoFiles]:
        query, variables = files_query(batch)
        try:
            answer = self.transport.graphql(query, variables, what=f"fetch files of {len(batch)} repos")
        except GitHubError as err:
            if len(batch) == 1:
                return [RepoFiles(batch[0], errors={"*": err.message})]
            # GitHub answers 502 to queries too heavy to finish in time: try the halves.
            half = len(batch) // 2
            return self._fetch_batch(batch[:half]) + self._fetch_batch(batch[half:])
        data = answer.get("data") or {}
        cost = data.get("rateLimit") or {}
        log.debug("file batch of %d repos: cost %s, remaining %s", len(batch), cost.get("cost"), cost.get("remaining"))
        missing = {str(e.get("path", [""])[0]): e.get("message", "") for e in answer.get("errors") or []}
        return [_repo_files(info, data.get(f"r{i}"), missing.get(f"r{i}")) for i, info in enumerate(batch)]

    def _complete_from_rest(self, result: RepoFiles) -> None:
        """Blobs GraphQL would not give as text (truncated, binary): read them over REST contents."""
        for path, why in list(result.errors.items()):
            if path == "*" or why not in ("truncated", "binary"):
                continue
            try:
                text = self.get_file(result.info.full_name, path, result.info.head_oid)
            except GitHubError as err:
                result.errors[path] = err.message
                continue
            if text is not None:
                result.files[path] = text
                del result.errors[path]

    def get_file(self, repo: str, path: str, ref: str | None = None) -> str | None:
        """A file's text (None when absent or a directory); one REST request."""

        def call() -> Any:
            kwargs = {"ref": ref} if ref else {}
            return self.transport.github.get_repo(repo).get_contents(path, **kwargs)

        try:
            content = self.transport.read(f"GET {repo}/contents/{path}", call)
        except NotFound:
            return None
        if isinstance(content, list) or content.type != "file":
            return None
        raw = base64.b64decode(content.content or "")
        return decode_text(raw)


def decode_text(raw: bytes) -> str:
    """Workflow files are UTF-8; a BOM says otherwise (UTF-16 files show up as "binary" in GraphQL)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    return raw.decode("utf-8-sig")


def _repo_info(node: dict[str, Any]) -> RepoInfo:
    ref = node.get("defaultBranchRef") or {}
    topics = tuple(t["topic"]["name"] for t in ((node.get("repositoryTopics") or {}).get("nodes") or []) if t)
    owner = node["owner"]["login"]
    return RepoInfo(owner=owner, name=node["name"], full_name=f"{owner}/{node['name']}",
                    default_branch=ref.get("name"), head_oid=(ref.get("target") or {}).get("oid"),
                    archived=node["isArchived"], fork=node["isFork"], empty=node["isEmpty"],
                    private=node["isPrivate"], topics=topics, visibility=str(node["visibility"]).lower())


def _rest_repo_info(repo: Repository) -> RepoInfo:
    # REST listings say neither the head commit nor emptiness: head_oid stays None and the file
    # fetch fills it in; an empty repository just yields no files there.
    return RepoInfo(owner=repo.owner.login, name=repo.name, full_name=repo.full_name,
                    default_branch=repo.default_branch, head_oid=None, archived=repo.archived, fork=repo.fork,
                    empty=False, private=repo.private, topics=tuple(repo.topics or ()),
                    visibility=getattr(repo, "visibility", None) or ("private" if repo.private else "public"))


def _messages(answer: dict[str, Any]) -> str:
    return "; ".join(str(e.get("message")) for e in answer.get("errors") or [])


def _recent_failed(answer: dict[str, Any]) -> bool:
    """Whether the `recent` part broke the answer: a document-level error, or one inside `recent`."""
    return any(not e.get("path") or e["path"][1:2] == ["recent"] for e in answer.get("errors") or [])


def _recent_heads(owner: dict[str, Any], answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Lower-cased full name -> head commit (with files) of each recently pushed repository.

    A repository with any error under it is left out: a file that failed reads as null, which must not
    pass for a file that is absent. The batched fetch reads it instead.
    """
    prefix = ["repositoryOwner", "recent", "nodes"]
    broken = {e["path"][3] for e in answer.get("errors") or [] if (e.get("path") or [])[:3] == prefix
              and len(e["path"]) > 3}
    nodes = (owner.get("recent") or {}).get("nodes") or []
    return {node["nameWithOwner"].lower(): _with_probes(node)
            for i, node in enumerate(nodes) if node and i not in broken}


def _with_probes(node: dict[str, Any]) -> dict[str, Any]:
    head = dict((node.get("defaultBranchRef") or {}).get("target") or {})
    head.update({k: v for k, v in node.items() if k.endswith("Probe")})
    return head


def _recent_files(info: RepoInfo, recent: Mapping[str, dict[str, Any]] | None) -> RepoFiles | None:
    """`info`'s files from the first page's recent repositories, if its listed head is the one read there."""
    head = (recent or {}).get(info.full_name.lower())
    if head is None or info.head_oid is None or head.get("oid") != info.head_oid:
        return None
    if any(head.get(f"{alias}Probe") and not (head.get(alias) or {}).get("object") for alias in OBJECTS):
        return None  # a directory exists but `Commit.file` did not return it: read it the batched way
    # Same aliases as the batched fetch, one level down (TreeEntry.object): the same parser applies.
    return _repo_files(info, {alias: (head.get(alias) or {}).get("object") for alias in OBJECTS}, None)


def _repo_files(info: RepoInfo, node: dict[str, Any] | None, problem: str | None) -> RepoFiles:
    if node is None:
        return RepoFiles(info, errors={"*": problem or "repository not found"})
    ref = node.get("defaultBranchRef") or {}
    oid = (ref.get("target") or {}).get("oid")
    if info.head_oid is None and oid:
        info = replace(info, head_oid=oid, default_branch=ref.get("name"))
    result = RepoFiles(info)
    for alias, (path, _) in OBJECTS.items():
        obj = node.get(alias)
        if not obj:
            continue
        if alias == "wf":
            _take_dir(result, path, obj)
        elif alias == "acts":
            for entry in obj.get("entries") or []:
                if entry["type"] == "tree" and entry.get("object"):
                    _take_dir(result, f"{ACTIONS_DIR}/{entry['name']}", entry["object"], names=("action",))
        else:
            _take_blob(result, path, obj)
    return result


def _take_dir(result: RepoFiles, path: str, tree: dict[str, Any], names: tuple[str, ...] = ()) -> None:
    for entry in tree.get("entries") or []:
        stem, _, _ = entry["name"].rpartition(".")
        if entry["type"] != "blob" or not entry["name"].endswith(YAML_SUFFIXES) or (names and stem not in names):
            continue
        _take_blob(result, f"{path}/{entry['name']}", entry.get("object") or {})


def _take_blob(result: RepoFiles, path: str, blob: dict[str, Any]) -> None:
    if blob.get("isBinary"):
        result.errors[path] = "binary"
    elif blob.get("isTruncated") or blob.get("text") is None:
        result.errors[path] = "truncated"
    else:
        result.files[path] = blob["text"]


def _page(pages: Any, number: int) -> list[Any]:
    return list(pages.get_page(number))
