"""The process-free ref reads and pooled `cat-file` object reads agree with git's own plumbing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.standin import gitread
from bot.standin.gitstore import Author, BareRepo


@pytest.fixture
def repo(tmp_path: Path) -> BareRepo:
    """main (2 commits, odd offsets), a nested branch, symlink + gitlink, tags, packed and loose refs."""
    bare = BareRepo.init(tmp_path / "r.git", "main")
    bare.commit_files("main", {"a.txt": "x", "d/e/f.txt": "y", "sp ace/b c": "z"}, "First\n\n\n",
                      Author("N A", "n@a", "1700000000 +0530"))
    bare.commit_files("main", {"a.txt": "x2"}, "Second subject\n\nbody\n", Author("B", "b@b", "1600000000 -0700"))
    bare.commit_files("topic/x", {"q": "1"}, "t", Author(), base="main")
    extra = {"link": ("120000", bare.write_blob(b"a.txt")), "sub": ("160000", bare.resolve("topic/x") or "")}
    tree = bare.write_tree(f"{bare.resolve('main')}^{{tree}}", extra)
    bare.update_ref("refs/heads/merged", bare.commit_tree(tree, [bare.resolve("main") or ""], "m\n", Author()))
    env = {"GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@x", "GIT_COMMITTER_DATE": "1700000000 +0200"}
    bare.run("tag", "-a", "v2", "-m", "annotated", "main", env=env)
    bare.run("tag", "v1", "main~1")
    bare.run("pack-refs", "--all")
    bare.commit_files("main", {"new": "n"}, "after pack", Author())  # a loose ref overriding the packed one
    return bare


def git_refs(repo: BareRepo, prefix: str = "refs/") -> dict[str, str]:
    out = repo.text("for-each-ref", "--format=%(refname) %(objectname)", prefix)
    return dict(line.split(" ", 1) for line in out.splitlines())


def git_ls_tree(repo: BareRepo, target: str, recursive: bool = False) -> list[tuple[str, str, str, str, str]]:
    out = repo.run("ls-tree", "-l", "-z", *(["-r", "-t"] if recursive else []), target).decode()
    return [(*meta.split(), path) for meta, path in (r.split("\t", 1) for r in out.split("\0") if r)]  # type: ignore


@pytest.mark.parametrize("prefix", ["refs/", "refs/heads/", "refs/heads/main", "refs/tags/", "refs/heads/ma", "refs/x"])
def test_refs_match_for_each_ref(repo: BareRepo, prefix: str) -> None:
    assert repo.refs(prefix) == git_refs(repo, prefix)


@pytest.mark.parametrize("rev", ["HEAD", "main", "v1", "v2", "refs/tags/v2", "main~1", "heads/main", "topic/x", "nope"])
def test_resolve_matches_rev_parse(repo: BareRepo, rev: str) -> None:
    expected = repo.run("rev-parse", "--verify", "-q", f"{rev}^{{commit}}", check=False).decode().strip() or None
    assert repo.resolve(rev) == expected


@pytest.mark.parametrize("rev", ["main", "merged", "topic/x"])
def test_trees_and_commits_match_git(repo: BareRepo, rev: str) -> None:
    for recursive in (False, True):
        mine = [(e.mode, e.type, e.sha, "-" if e.size is None else str(e.size), e.path)
                for e in repo.ls_tree(rev, recursive=recursive)]
        assert mine == git_ls_tree(repo, f"{rev}^{{tree}}", recursive)
    fmt = "%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B"
    fields = repo.run("show", "-s", f"--format={fmt}", rev, "--").decode().split("\0", 9)
    info = repo.commit_info(rev)
    assert (info.sha, info.tree, " ".join(info.parents), info.author_name, info.author_email, info.author_date) == (
        *fields[:6],
    )
    assert (info.committer_name, info.committer_email, info.committer_date) == tuple(fields[6:9])
    assert info.message == fields[9].rstrip("\n")


def test_commit_dates_keep_the_authors_offset(repo: BareRepo) -> None:
    assert repo.commit_info("main~1").author_date == "2020-09-13T05:26:40-07:00"
    assert repo.commit_info("main~2").author_date == "2023-11-15T03:43:20+05:30"


def test_head_branch_unborn_detached_and_ambiguous(repo: BareRepo, tmp_path: Path) -> None:
    assert BareRepo.init(tmp_path / "e.git", "trunk").head_branch() == "trunk"
    repo.run("tag", "main", "topic/x")  # `symbolic-ref --short` now has to say heads/main
    assert repo.head_branch() == repo.text("symbolic-ref", "--short", "HEAD") == "heads/main"
    repo.run("update-ref", "--no-deref", "HEAD", repo.resolve("v1") or "")
    with pytest.raises(gitread.GitError):
        repo.head_branch()


def test_object_expressions_and_missing_paths(repo: BareRepo) -> None:
    assert repo.object_info("HEAD:d/e") == (repo.text("rev-parse", "HEAD:d/e"), "tree")
    assert repo.object_info("main:sp ace/b c") is not None
    assert repo.object_info("main:sp ace/nope") is None and repo.object_info("nope:x") is None
    assert repo.entry_at("main", "sp ace/nope") is None
    assert repo.blob(repo.text("rev-parse", "main:a.txt")) == b"x2"


def test_pooled_readers_see_new_commits_and_survive_eviction(
    repo: BareRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gitread, "POOL_SIZE", 1)
    other = BareRepo.init(tmp_path / "o.git", "main")
    other.commit_files("main", {"o": "1"}, "o", Author())
    assert repo.blob(repo.text("rev-parse", "main:a.txt")) == b"x2"
    assert other.commit_info("main").message == "o"  # evicts repo's reader
    sha = repo.commit_files("main", {"a.txt": "x3"}, "third", Author())
    assert repo.commit_info("HEAD").sha == sha and repo.blob(repo.text("rev-parse", "main:a.txt")) == b"x3"
    gitread.close_readers(tmp_path)
    assert repo.commit_info("HEAD").message == "third"  # a closed reader starts a new process on demand
    gitread.close_readers(tmp_path)
