"""Listing and batched file fetching: results, and how many requests they take."""

from __future__ import annotations

from pathlib import Path

import graphql
import pytest

from bot.config import GitHubConfig, LimitsConfig
from bot.github import FakeClock, GitHubClient, RepoInfo, connect
from bot.github.queries import files_query, list_query
from bot.standin import StandIn
from bot.standin.graphql_api import MIN_SCHEMA, SHARED_SCHEMA, schema
from tests.github.conftest import ACTION, WORKFLOW, MakeClient


def test_list_repos_reads_metadata_in_one_query(seeded: StandIn, client: GitHubClient) -> None:
    repos = {r.name: r for r in client.list_repos()}
    assert sorted(repos) == ["app", "lib", "old", "void"]
    app, lib, old, void = repos["app"], repos["lib"], repos["old"], repos["void"]
    assert (app.full_name, app.default_branch, app.head_oid) == ("acme/app", "main", seeded.bare("acme", "app")
                                                                .resolve("main"))
    assert lib.default_branch == "trunk" and old.archived and not app.archived
    assert void.empty and void.head_oid is None and void.default_branch is None
    assert app.visibility == "public" and not app.private
    assert seeded.count("POST", "^/api/graphql$") == 1 and client.counts.total == 1


def test_listing_pages_100_at_a_time(standin: StandIn, client: GitHubClient) -> None:
    standin.add_org("acme")
    for i in range(205):
        standin.create_repo("acme", f"r{i:03}")  # empty repositories: cheap to make
    repos = client.list_repos()
    assert len(repos) == 205 and len({r.full_name for r in repos}) == 205
    assert client.counts.graphql == 3


def test_unknown_org_is_a_not_found_error(seeded: StandIn, make_client: MakeClient) -> None:
    from bot.github import NotFound

    with pytest.raises(NotFound, match="no organization or user named 'nobody'"):
        make_client(name="nobody").list_repos()


def test_fetch_files_reads_workflows_actions_and_opt_out(seeded: StandIn, client: GitHubClient) -> None:
    repos = {r.name: r for r in client.list_repos()}
    [app, lib] = client.fetch_files([repos["app"], repos["lib"]])
    assert app.files == {
        ".github/workflows/ci.yml": WORKFLOW, ".github/workflows/release.yaml": WORKFLOW.replace("push", "release"),
        ".github/actions/setup/action.yml": ACTION, ".github/ztbot.toml": "[transforms]\nenabled = []\n"}
    assert set(app.workflows) == {".github/workflows/ci.yml", ".github/workflows/release.yaml"}
    assert app.opt_out is not None and app.errors == {}
    assert lib.files == {} and lib.errors == {}


def test_one_graphql_request_per_batch(standin: StandIn, make_client: MakeClient) -> None:
    standin.add_org("acme")
    for i in range(7):
        standin.create_repo("acme", f"r{i}", {".github/workflows/ci.yml": WORKFLOW + f"# {i}\n", "action.yml": "x\n"})
    client = make_client(batch_size=3)
    repos = client.list_repos()
    before = client.counts
    files = client.fetch_files(repos)
    assert (client.counts - before).graphql == 3 and (client.counts - before).total == 3
    assert [f.files[".github/workflows/ci.yml"].endswith(f"# {i}\n") for i, f in enumerate(files)] == [True] * 7
    assert all(f.files["action.yml"] == "x\n" for f in files)


def test_truncated_and_binary_blobs_come_from_rest(standin: StandIn, client: GitHubClient) -> None:
    standin.add_org("acme")
    big = WORKFLOW + "".join(f"# padding line {i:06}\n" for i in range(30_000))  # > 512 KiB: GraphQL truncates
    utf16 = WORKFLOW.encode("utf-16")  # NUL bytes: GraphQL calls it binary
    standin.create_repo("acme", "app", {".github/workflows/big.yml": big, ".github/workflows/wide.yml": utf16,
                                        ".github/workflows/ci.yml": WORKFLOW})
    [files] = client.fetch_files(client.list_repos())
    assert files.files == {".github/workflows/big.yml": big, ".github/workflows/wide.yml": WORKFLOW,
                           ".github/workflows/ci.yml": WORKFLOW}
    assert files.errors == {}
    assert standin.count("GET", r"/contents/\.github/workflows/(big|wide)\.yml$") == 2
    assert client.counts.rest_read == 2 and client.counts.graphql == 2


def test_missing_repository_is_an_error_for_that_repo_only(seeded: StandIn, client: GitHubClient) -> None:
    gone = RepoInfo("acme", "gone", "acme/gone", "main", None)
    app = next(r for r in client.list_repos() if r.name == "app")
    [missing, found] = client.fetch_files([gone, app])
    assert "acme/gone" in missing.errors["*"] and found.files and not found.errors


def test_warm_scan_reads_only_repos_whose_head_moved(seeded: StandIn, client: GitHubClient) -> None:
    cold = client.scan()
    assert {f.info.name for f in cold.fetched} == {"app", "lib", "old", "void"}
    known = {r.full_name: r.head_oid for r in cold.repos if r.head_oid}
    seeded.commit("acme", "lib", {".github/workflows/new.yml": WORKFLOW}, branch="trunk")
    before = client.counts
    warm = client.scan(known)
    assert [f.info.name for f in warm.fetched if not f.info.empty] == ["lib"]
    assert warm.fetched[0].files == {".github/workflows/new.yml": WORKFLOW}
    assert {r.name for r in warm.unchanged} == {"app", "old"}
    # The changed repo is among the most recently pushed: its files come with the listing page.
    assert (client.counts - before).graphql == 1


def test_scan_filter_skips_unwanted_repos(seeded: StandIn, client: GitHubClient) -> None:
    result = client.scan(want=lambda r: not r.archived and not r.empty)
    assert {f.info.name for f in result.fetched} == {"app", "lib"}


def test_concurrent_batches_are_bounded(standin: StandIn, make_client: MakeClient, clock: FakeClock) -> None:
    import threading
    import time

    client = make_client(max_concurrency=2)
    active, peak, lock = [0], [0], threading.Lock()

    def work(item: int) -> int:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.02)
        with lock:
            active[0] -= 1
        return item * 2

    assert client.transport.map_reads(work, range(8)) == [i * 2 for i in range(8)]
    assert peak[0] == 2


@pytest.mark.parametrize("with_topics", [False, True])
def test_queries_are_valid_graphql(with_topics: bool) -> None:
    # Checked against GitHub's published schema (and the stand-in's slice) so the queries run on github.com.
    fetch, _ = files_query([RepoInfo("a", "b", "a/b", "main", "0" * 40), RepoInfo("a", "c", "a/c", None, None)])
    paths = [Path(SHARED_SCHEMA)] if SHARED_SCHEMA.exists() else []
    if not with_topics:
        paths.append(Path(MIN_SCHEMA))  # the slice has no repositoryTopics
    for path in paths:
        for query in (list_query(with_topics), list_query(with_topics, recent=True), fetch):
            assert graphql.validate(schema(path), graphql.parse(query)) == [], path


def test_rest_listing_when_graphql_is_unavailable(seeded: StandIn, client: GitHubClient) -> None:
    seeded.inject(status=404, path="^/api/graphql$", times=1)  # e.g. a GHES with GraphQL switched off
    repos = {r.name: r for r in client.list_repos()}
    assert sorted(repos) == ["app", "lib", "old", "void"]
    assert repos["old"].archived and repos["lib"].default_branch == "trunk" and repos["app"].head_oid is None
    assert seeded.count("GET", "^/api/v3/orgs/acme/repos$") == 1
    [app] = client.fetch_files([repos["app"]])  # the file query asks for the head the listing lacked
    assert app.info.head_oid == seeded.bare("acme", "app").resolve("main")
    assert ".github/workflows/ci.yml" in app.files


def test_a_repository_failing_in_the_listing_is_not_dropped(seeded: StandIn, client: GitHubClient) -> None:
    # While the stand-in cannot resolve repositoryTopics every node comes back null: the listing must
    # then go to REST (which has topics) rather than return fewer repositories.
    seeded.update_repo("acme", "app", topics=["demo"])
    repos = {r.name: r for r in client.list_repos(with_topics=True)}
    assert sorted(repos) == ["app", "lib", "old", "void"] and repos["app"].topics == ("demo",)


def _org_of(standin: StandIn, count: int) -> None:
    standin.add_org("acme")
    for i in range(count):
        standin.create_repo("acme", f"r{i:03}", {".github/workflows/ci.yml": WORKFLOW + f"# {i}\n"})


def test_warm_scan_of_100_repos_with_one_change_is_one_request(standin: StandIn, client: GitHubClient) -> None:
    _org_of(standin, 100)
    cold = client.scan()
    assert len(cold.fetched) == 100
    known = {r.full_name: r.head_oid for r in cold.repos if r.head_oid}
    standin.commit("acme", "r042", {".github/workflows/ci.yml": WORKFLOW + "# changed\n"})
    graphql_before, before = standin.count("POST", "^/api/graphql$"), client.counts
    warm = client.scan(known)
    assert [f.info.name for f in warm.fetched] == ["r042"] and len(warm.unchanged) == 99
    assert warm.fetched[0].files == {".github/workflows/ci.yml": WORKFLOW + "# changed\n"}
    assert warm.fetched[0].info.head_oid == standin.bare("acme", "r042").resolve("main")
    assert (client.counts - before).total == 1
    assert standin.count("POST", "^/api/graphql$") - graphql_before == 1


def test_changed_repo_beyond_the_recent_ones_is_still_fetched(standin: StandIn, client: GitHubClient) -> None:
    _org_of(standin, 30)
    known = {r.full_name: r.head_oid for r in client.scan().repos if r.head_oid}
    changed = [f"r{i:03}" for i in range(11)]  # r000 is pushed first: the 10 later pushes push it out
    for name in changed:
        standin.commit("acme", name, {".github/workflows/ci.yml": WORKFLOW + f"# changed {name}\n"})
    before = client.counts
    warm = client.scan(known)
    assert sorted(f.info.name for f in warm.fetched) == changed
    assert all(f.files == {".github/workflows/ci.yml": WORKFLOW + f"# changed {f.info.name}\n"} for f in warm.fetched)
    assert (client.counts - before).graphql == 2  # the listing (10 repos' files with it), one batch for r000


def test_recent_files_equal_the_batched_fetch(seeded: StandIn, client: GitHubClient) -> None:
    known = {r.full_name: r.head_oid for r in client.scan().repos if r.head_oid}
    wide = WORKFLOW.encode("utf-16")  # binary to GraphQL: completed over REST either way
    seeded.commit("acme", "app", {".github/workflows/wide.yml": wide, "action.yml": "name: root\n",
                                  ".github/actions/build/action.yaml": ACTION})
    before = client.counts
    [warm] = [f for f in client.scan(known).fetched if not f.info.empty]
    assert (client.counts - before).graphql == 1 and (client.counts - before).rest_read == 1
    [batched] = client.fetch_files([warm.info])
    assert warm == batched
    assert warm.files[".github/workflows/wide.yml"] == WORKFLOW and warm.files["action.yml"] == "name: root\n"
    assert warm.files[".github/actions/build/action.yaml"] == ACTION and warm.opt_out is not None


def test_cold_scan_requests_are_unchanged(standin: StandIn, make_client: MakeClient) -> None:
    _org_of(standin, 30)
    client = make_client(batch_size=25)
    cold = client.scan()
    assert len(cold.fetched) == 30 and client.counts.graphql == 3 and client.counts.total == 3  # 1 page, 2 batches
    assert client.scan({}).fetched and client.counts.graphql == 6  # no known heads: a cold scan too


def test_recent_files_refused_lists_plainly(tmp_path: Path, clock: FakeClock) -> None:
    # A server whose schema lacks Commit.file (an older GHES) rejects the first page's whole document.
    sdl = Path(MIN_SCHEMA).read_text().replace("  file(path: String!): TreeEntry\n", "")
    (tmp_path / "old.graphql").write_text(sdl)
    with StandIn(tmp_path / "old", graphql_schema=tmp_path / "old.graphql") as old:
        _org_of(old, 3)
        cfg = GitHubConfig(target="org", name="acme", base_url=old.api_url)
        with connect(cfg, LimitsConfig(), clock, env={"ZTBOT_TOKEN": old.add_token()}) as client:
            known = {r.full_name: r.head_oid for r in client.scan().repos if r.head_oid}
            old.commit("acme", "r001", {".github/workflows/ci.yml": WORKFLOW + "# changed\n"})
            before = client.counts
            warm = client.scan(known)
            assert [f.info.name for f in warm.fetched] == ["r001"] and len(warm.unchanged) == 2
            assert warm.fetched[0].files == {".github/workflows/ci.yml": WORKFLOW + "# changed\n"}
            assert (client.counts - before).graphql == 3  # refused, listed plainly, one batch


def test_recent_files_are_not_trusted_when_a_directory_probe_disagrees() -> None:
    """If a server's `Commit.file` did not return directories, the probe sends the repo to the batched fetch."""
    from bot.github.scan import _recent_files

    info = RepoInfo("acme", "app", "acme/app", "main", "c" * 40)
    tree = {"entries": [{"name": "ci.yml", "type": "blob", "object": {"text": "on: push\n", "isBinary": False,
                                                                       "isTruncated": False}}]}
    probe = {"wfProbe": {"oid": "t" * 40}}
    assert _recent_files(info, {"acme/app": {"oid": "c" * 40, "wf": None, **probe}}) is None
    read = _recent_files(info, {"acme/app": {"oid": "c" * 40, "wf": {"object": tree}, **probe}})
    assert read is not None and read.files == {".github/workflows/ci.yml": "on: push\n"}
    no_dir = _recent_files(info, {"acme/app": {"oid": "c" * 40, "wf": None, "wfProbe": None}})
    assert no_dir is not None and no_dir.files == {}
