"""The action knowledge base: schema validation, evaluation, and coverage of the shared corpus."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from transforms import kb, kb_schema
from transforms.base import Analysis, Need

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "corpus" / "workflows"
USES = re.compile(r"""uses:\s*['"]?([A-Za-z0-9_.-]+/[A-Za-z0-9_./-]*[A-Za-z0-9_.-])""")


def scopes(analysis: Analysis) -> dict[str, str]:
    """scope -> highest level among the needs (what a permissions block would grant)."""
    out: dict[str, str] = {}
    for need in analysis.needs:
        if out.get(need.scope) != "write":
            out[need.scope] = need.level
    return out


# --------------------------------------------------------------------------- the data file


def test_data_file_loads_and_validates() -> None:
    entries = kb.entries()
    assert len(entries) >= 120
    assert all(slug == slug.lower() for slug in entries)


def test_every_entry_names_a_source() -> None:
    assert all(entry.source for entry in kb.entries().values())


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"source": "x", "permisions": {}}, "unknown key ['permisions']"),
        ({"source": "x", "permissions": {"content": "read"}}, "unknown scope 'content'"),
        ({"source": "x", "permissions": {"contents": "admin"}}, "scope 'contents' has level 'admin'"),
        ({"source": "x", "permissions": {"id-token": "read"}}, "scope 'id-token' has level 'read'"),
        ({"source": "x", "token_inputs": {"token": "always"}}, "token_inputs.token"),
        ({"permissions": {}}, "'source' is required"),
        ({"source": "x", "rules": [{"permissions": {"issues": "write"}}]}, "'reason' is required"),
        ({"source": "x", "rules": [{"when": {"presnt": ["a"]}, "permissions": {"issues": "write"},
                                    "reason": "r"}]}, "unknown condition ['presnt']"),
        ({"source": "x", "rules": [{"when": {"token": ["t"]}, "permissions": {"issues": "write"},
                                    "reason": "r"}]}, "not in token_inputs"),
        ({"source": "x", "no_token": True, "permissions": {"contents": "read"}}, "no_token entries"),
        ({"source": "x", "script": True, "permissions": {"contents": "read"}}, "script entries"),
        ({"source": "x", "subpaths": "all"}, "subpaths must be 'inherit'"),
    ],
)
def test_schema_rejects_with_the_entry_named(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(kb_schema.KnowledgeBaseError) as err:
        kb_schema.parse_kb({"owner/some-action": raw})
    assert "entry 'owner/some-action'" in str(err.value)
    assert message in str(err.value)


def test_schema_rejects_uppercase_slug() -> None:
    with pytest.raises(kb_schema.KnowledgeBaseError, match="entry 'Owner/Action'"):
        kb_schema.parse_kb({"Owner/Action": {"source": "x"}})


# --------------------------------------------------------------------------- lookup


def test_lookup_is_case_insensitive_and_ignores_ref() -> None:
    entry = kb.lookup("Actions/Checkout@v4")
    assert entry is not None and entry.slug == "actions/checkout"
    assert kb.lookup("Azure/login") is kb.lookup("azure/login")


def test_subpath_falls_back_only_when_the_entry_inherits() -> None:
    restore = kb.lookup("actions/cache/restore")
    assert restore is not None and restore.slug == "actions/cache"
    assert kb.lookup("github/codeql-action/not-an-action") is None
    assert kb.lookup("actions/checkout/sub") is None


# --------------------------------------------------------------------------- behaviour


def test_checkout_needs_contents_read() -> None:
    result = kb.analyze_action("actions/checkout@v4", {}, token_in_env=False)
    assert result.needs == (Need("contents", "read", "uses actions/checkout"),)
    assert not result.unknowns


def test_aws_role_to_assume_needs_id_token() -> None:
    with_ = {"role-to-assume": "arn:aws:iam::123456789012:role/deploy", "aws-region": "us-east-1"}
    result = kb.analyze_action("aws-actions/configure-aws-credentials@v4", with_, False)
    assert scopes(result) == {"id-token": "write"}
    assert "role-to-assume set" in result.needs[0].reason


def test_aws_static_keys_need_nothing() -> None:
    with_ = {
        "aws-access-key-id": "${{ secrets.AWS_ACCESS_KEY_ID }}",
        "aws-secret-access-key": "${{ secrets.AWS_SECRET_ACCESS_KEY }}",
        "role-to-assume": "arn:aws:iam::123456789012:role/deploy",
        "aws-region": "us-east-1",
    }
    assert kb.analyze_action("aws-actions/configure-aws-credentials@v4", with_, False) == Analysis()


def test_unknown_action_given_the_token_is_unknown() -> None:
    result = kb.analyze_action("foo/bar@v1", {"token": "${{ secrets.GITHUB_TOKEN }}"}, False)
    assert not result.needs
    assert len(result.unknowns) == 1
    assert "foo/bar" in result.unknowns[0].reason
    assert "given the GITHUB_TOKEN" in result.unknowns[0].reason


def test_unknown_action_given_the_token_through_env_is_unknown() -> None:
    result = kb.analyze_action("foo/bar@v1", {}, token_in_env=True)
    assert "given the GITHUB_TOKEN" in result.unknowns[0].reason


def test_unknown_action_not_given_the_token_is_still_unknown() -> None:
    result = kb.analyze_action("foo/bar@v1", {"path": "dist"}, False)
    assert len(result.unknowns) == 1
    assert "may read github.token" in result.unknowns[0].reason


def test_expression_valued_condition_includes_the_need() -> None:
    with_ = {"use_oidc": "${{ inputs.oidc }}"}
    result = kb.analyze_action("codecov/codecov-action@v5", with_, False)
    assert scopes(result) == {"id-token": "write"}
    assert "may" in result.needs[0].reason


def test_literal_condition_values_are_case_insensitive() -> None:
    assert scopes(kb.analyze_action("codecov/codecov-action@v5", {"use_oidc": "True"}, False)) == {
        "id-token": "write"
    }
    assert kb.analyze_action("codecov/codecov-action@v5", {"use_oidc": "false"}, False) == Analysis()
    assert kb.analyze_action("codecov/codecov-action@v5", {}, False) == Analysis()


def test_pat_as_token_drops_token_needs() -> None:
    pat = {"token": "${{ secrets.MY_PAT }}"}
    assert kb.analyze_action("actions/checkout@v4", pat, False) == Analysis()
    app = {"token": "${{ steps.app.outputs.token }}", "discussion_category_name": "Releases"}
    assert kb.analyze_action("softprops/action-gh-release@v2", app, False) == Analysis()


def test_explicit_github_token_keeps_token_needs() -> None:
    with_ = {"token": "${{ github.token }}", "discussion_category_name": "Releases"}
    result = kb.analyze_action("softprops/action-gh-release@v2", with_, False)
    assert scopes(result) == {"contents": "write", "discussions": "write"}


def test_ambiguous_token_value_is_treated_as_the_token() -> None:
    result = kb.analyze_action("actions/checkout@v4", {"token": "${{ inputs.token }}"}, False)
    assert scopes(result) == {"contents": "read"}
    assert "may receive" in result.needs[0].reason


def test_env_reference_counts_only_when_env_carries_the_token() -> None:
    with_ = {"token": "${{ env.GH_TOKEN }}"}
    assert kb.analyze_action("actions/checkout@v4", with_, token_in_env=False) == Analysis()
    assert scopes(kb.analyze_action("actions/checkout@v4", with_, token_in_env=True)) == {"contents": "read"}


def test_explicit_token_input_needs_the_token_passed() -> None:
    assert kb.analyze_action("peaceiris/actions-gh-pages@v4", {"publish_dir": "site"}, False) == Analysis()
    with_ = {"github_token": "${{ secrets.GITHUB_TOKEN }}"}
    assert scopes(kb.analyze_action("peaceiris/actions-gh-pages@v4", with_, False)) == {"contents": "write"}


def test_token_env_action_needs_the_token_in_env() -> None:
    assert kb.analyze_action("goreleaser/goreleaser-action@v6", {}, token_in_env=False) == Analysis()
    result = kb.analyze_action("goreleaser/goreleaser-action@v6", {}, token_in_env=True)
    assert scopes(result) == {"contents": "write"}


def test_deploy_pages_needs_pages_and_id_token() -> None:
    result = kb.analyze_action("actions/deploy-pages@v4", {}, False)
    assert scopes(result) == {"pages": "write", "id-token": "write"}


def test_stale_delete_branch_adds_contents_write() -> None:
    base = {"issues": "write", "pull-requests": "write", "actions": "write"}
    assert scopes(kb.analyze_action("actions/stale@v9", {}, False)) == base
    with_ = {"delete-branch": "true"}
    assert scopes(kb.analyze_action("actions/stale@v9", with_, False)) == {**base, "contents": "write"}


def test_defaults_feed_conditions() -> None:
    commit = "endbug/add-and-commit@v9"
    assert scopes(kb.analyze_action(commit, {}, False)) == {"contents": "write"}
    assert kb.analyze_action(commit, {"push": "false"}, False) == Analysis()


def test_pypi_publish_trusted_publishing_only_without_password() -> None:
    assert scopes(kb.analyze_action("pypa/gh-action-pypi-publish@release/v1", {}, False)) == {
        "id-token": "write"
    }
    with_ = {"password": "${{ secrets.PYPI_API_TOKEN }}"}
    assert kb.analyze_action("pypa/gh-action-pypi-publish@release/v1", with_, False) == Analysis()


def test_azure_login_oidc_only_with_client_id() -> None:
    oidc = {"client-id": "${{ secrets.AZURE_CLIENT_ID }}", "tenant-id": "t", "subscription-id": "s"}
    assert scopes(kb.analyze_action("Azure/login@v2", oidc, False)) == {"id-token": "write"}
    assert kb.analyze_action("Azure/login@v2", {"creds": "${{ secrets.AZURE_CREDENTIALS }}"}, False) == Analysis()


def test_github_script_needs_come_from_the_script() -> None:
    assert kb.analyze_action("actions/github-script@v7", {"script": "core.info('hi')"}, False) == Analysis()
    entry = kb.lookup("actions/github-script")
    assert entry is not None and entry.script


def test_local_and_docker_actions() -> None:
    assert kb.analyze_action("./.github/actions/setup", {}, True) == Analysis()
    assert kb.analyze_action("docker://alpine:3.20", {"args": "echo hi"}, False) == Analysis()
    given = kb.analyze_action("docker://alpine:3.20", {}, token_in_env=True)
    assert len(given.unknowns) == 1 and "docker://alpine:3.20" in given.unknowns[0].reason


def test_inputs_are_case_insensitive() -> None:
    with_ = {"GITHUB_TOKEN": "${{ secrets.PAT }}"}
    assert kb.analyze_action("marocchino/sticky-pull-request-comment@v2", with_, False) == Analysis()


def test_gives_github_token() -> None:
    assert kb.gives_github_token("${{ secrets.GITHUB_TOKEN }}", False) is True
    assert kb.gives_github_token("${{ secrets.PAT || github.token }}", False) is True
    assert kb.gives_github_token("${{ secrets.PAT }}", False) is False
    assert kb.gives_github_token("${{ steps.app.outputs.token }}", False) is False
    assert kb.gives_github_token("ghp_literal", False) is False
    assert kb.gives_github_token("${{ matrix.token }}", False) is None



def test_netlify_needs_only_with_github_token() -> None:
    netlify = "nwtgck/actions-netlify@v1.2.4"
    assert kb.analyze_action(netlify, {"publish-dir": "dist", "enable-commit-comment": "true"}, False) == Analysis()
    with_ = {"publish-dir": "dist", "github-token": "${{ secrets.GITHUB_TOKEN }}"}
    assert scopes(kb.analyze_action(netlify, with_, False)) == {
        "contents": "write", "pull-requests": "write", "statuses": "write", "deployments": "write"
    }
    off = {**with_, "enable-commit-comment": "false", "enable-pull-request-comment": "false",
           "enable-commit-status": "false", "enable-github-deployment": "false"}
    assert kb.analyze_action(netlify, off, False) == Analysis()


def test_env_token_actions_from_the_corpus() -> None:
    readme = "akhilmhdh/contributors-readme-action@v2.3.10"
    assert kb.analyze_action(readme, {}, token_in_env=False) == Analysis()
    assert scopes(kb.analyze_action(readme, {}, token_in_env=True)) == {"contents": "write", "pull-requests": "write"}
    no_pr = {"auto_detect_branch_protection": "false"}
    assert scopes(kb.analyze_action(readme, no_pr, token_in_env=True)) == {"contents": "write"}
    suggester = "googleapis/code-suggester@v4"
    assert kb.analyze_action(suggester, {"command": "pr"}, token_in_env=False) == Analysis()
    assert scopes(kb.analyze_action(suggester, {"command": "pr"}, token_in_env=True)) == {
        "contents": "write", "pull-requests": "write"
    }
    assert scopes(kb.analyze_action(suggester, {"command": "review"}, True)) == {"pull-requests": "write"}


def test_optional_features_of_setup_graalvm() -> None:
    graal = "graalvm/setup-graalvm@v1"
    assert kb.analyze_action(graal, {"java-version": "21"}, False) == Analysis()
    with_ = {"java-version": "21", "native-image-pr-reports": "true", "native-image-enable-sbom": "true"}
    assert scopes(kb.analyze_action(graal, with_, False)) == {"pull-requests": "write", "contents": "write"}
    pat = {**with_, "github-token": "${{ secrets.PAT }}"}
    assert kb.analyze_action(graal, pat, False) == Analysis()


def test_workflow_dispatch_and_k8s_deploy_default_to_the_token() -> None:
    dispatch = "benc-uk/workflow-dispatch@v1"
    assert scopes(kb.analyze_action(dispatch, {"workflow": "ci.yml"}, False)) == {"actions": "write"}
    assert kb.analyze_action(dispatch, {"workflow": "x", "token": "${{ secrets.DISPATCH_TOKEN }}"}, False) == Analysis()
    assert scopes(kb.analyze_action("Azure/k8s-deploy@v5", {"manifests": "k8s/"}, False)) == {"actions": "read"}


def test_verified_token_free_corpus_actions() -> None:
    for uses in ("azure/aci-deploy@v1", "tj-actions/branch-names@v9", "reggionick/s3-deploy@v3",
                 "KaiPrince/AngelDocs@v0.1", "microsoft/setup-msbuild@v2", "snapcore/action-publish@v1"):
        entry = kb.lookup(uses)
        assert entry is not None and entry.no_token, uses
        assert kb.analyze_action(uses, {}, token_in_env=True) == Analysis()

# --------------------------------------------------------------------------- corpus coverage


def corpus_uses() -> tuple[Counter[str], Counter[str]]:
    """(uses paths, owner/repo counts) over every `uses:` in the corpus, local actions excluded."""
    paths: Counter[str] = Counter()
    repos: Counter[str] = Counter()
    for file in CORPUS.iterdir():
        for match in USES.finditer(file.read_text(encoding="utf-8", errors="replace")):
            uses = match.group(1).split("@", 1)[0].lower()
            parts = uses.split("/")
            if uses.startswith(".") or len(parts) < 2 or "/.github/workflows/" in uses:
                continue  # local actions and reusable workflows are not actions
            paths[uses] += 1
            repos["/".join(parts[:2])] += 1
    return paths, repos


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
def test_corpus_actions_used_twice_or_more_have_entries() -> None:
    paths, repos = corpus_uses()
    frequent = [p for p in paths if repos["/".join(p.split("/")[:2])] >= 2]
    assert len({"/".join(p.split("/")[:2]) for p in frequent}) >= 50
    missing = sorted(p for p in frequent if kb.lookup(p) is None)
    assert not missing, f"actions used twice or more in the corpus without an entry: {missing}"


# --------------------------------------------------------------------------- facts re-read from the actions


def test_codeql_resolve_environment_needs_security_events_write() -> None:
    # Its token input says the workflow must grant security-events: write.
    result = kb.analyze_action("github/codeql-action/resolve-environment@v3", {"language": "java"}, False)
    assert scopes(result) == {"contents": "read", "security-events": "write"}


def test_ncipollo_release_discussion_category_needs_discussions_write() -> None:
    release = "ncipollo/release-action@v1"
    assert scopes(kb.analyze_action(release, {"artifacts": "dist/*"}, False)) == {"contents": "write"}
    with_ = {"artifacts": "dist/*", "discussionCategory": "Releases"}
    assert scopes(kb.analyze_action(release, with_, False)) == {"contents": "write", "discussions": "write"}
    pat = {**with_, "token": "${{ secrets.RELEASE_PAT }}"}
    assert kb.analyze_action(release, pat, False) == Analysis()


def test_pre_commit_v2_pushes_with_the_token_it_is_given() -> None:
    action = "pre-commit/action@v2.0.3"
    assert kb.analyze_action(action, {}, token_in_env=True) == Analysis()
    given = {"token": "${{ secrets.GITHUB_TOKEN }}"}
    assert scopes(kb.analyze_action(action, given, False)) == {"contents": "write"}


def test_publish_unit_test_results_private_repo_scopes_and_comment_mode() -> None:
    action = "EnricoMi/publish-unit-test-result-action@v2"
    base = {"checks": "write", "contents": "read", "issues": "read"}
    files = {"files": "results/**/*.xml"}
    assert scopes(kb.analyze_action(action, files, False)) == {**base, "pull-requests": "write"}
    assert scopes(kb.analyze_action(action, {**files, "comment_mode": "off"}, False)) == base
    assert scopes(kb.analyze_action(action, {**files, "comment_mode": "failures"}, False)) == {
        **base, "pull-requests": "write"
    }
    composite = "EnricoMi/publish-unit-test-result-action/composite@v2"
    assert scopes(kb.analyze_action(composite, files, False)) == {**base, "pull-requests": "write"}


def test_test_reporter_artifact_mode_reads_contents_and_actions() -> None:
    action = "dorny/test-reporter@v1"
    local = {"name": "tests", "path": "*.trx", "reporter": "dotnet-trx"}
    assert scopes(kb.analyze_action(action, local, False)) == {"checks": "write"}
    artifact = {**local, "artifact": "test-results"}
    assert scopes(kb.analyze_action(action, artifact, False)) == {
        "checks": "write", "actions": "read", "contents": "read"
    }


def test_scorecard_still_receives_the_token_when_repo_token_is_a_pat() -> None:
    action = "ossf/scorecard-action@v2"
    pat = {"results_file": "r.sarif", "results_format": "sarif", "repo_token": "${{ secrets.SCORECARD_TOKEN }}"}
    assert scopes(kb.analyze_action(action, pat, False)) == {"contents": "read", "actions": "read"}


def test_gradle_dependency_submission_modes() -> None:
    action = "gradle/actions/dependency-submission@v4"
    assert scopes(kb.analyze_action(action, {}, False)) == {"contents": "write"}
    assert kb.analyze_action(action, {"dependency-graph": "generate-and-upload"}, False) == Analysis()
    assert scopes(kb.analyze_action(action, {"dependency-graph": "download-and-submit"}, False)) == {
        "contents": "write", "actions": "read"
    }
    comment = {"add-job-summary-as-pr-comment": "on-failure"}
    assert scopes(kb.analyze_action(action, comment, False)) == {"contents": "write", "pull-requests": "write"}


def test_setup_gradle_download_and_submit_reads_actions() -> None:
    for action in ("gradle/actions/setup-gradle@v4", "gradle/gradle-build-action@v3"):
        assert kb.analyze_action(action, {}, False) == Analysis()
        assert scopes(kb.analyze_action(action, {"dependency-graph": "download-and-submit"}, False)) == {
            "contents": "write", "actions": "read"
        }, action


def test_gradle_build_action_v3_pr_comment_needs_pull_requests_write() -> None:
    # gradle-build-action@v3 has add-job-summary-as-pr-comment, posted with github-token (default github.token).
    action = "gradle/gradle-build-action@v3"
    assert kb.analyze_action(action, {"add-job-summary-as-pr-comment": "never"}, False) == Analysis()
    for mode in ("always", "on-failure"):
        assert scopes(kb.analyze_action(action, {"add-job-summary-as-pr-comment": mode}, False)) == {
            "pull-requests": "write"
        }, mode
    pat = {"add-job-summary-as-pr-comment": "always", "github-token": "${{ secrets.GRADLE_PAT }}"}
    assert kb.analyze_action(action, pat, False) == Analysis()


def test_release_drafter_token_input_and_autolabeler_scope() -> None:
    action = "release-drafter/release-drafter@v7"
    # v7 reads its token input, which defaults to github.token: no env is needed to receive the token.
    assert scopes(kb.analyze_action(action, {}, token_in_env=False)) == {
        "contents": "write", "pull-requests": "write"
    }
    # Without the autolabeler the drafter only reads pull requests (v6 and older: token from env).
    off = {"disable-autolabeler": "true"}
    assert scopes(kb.analyze_action("release-drafter/release-drafter@v6", off, token_in_env=True)) == {
        "contents": "write", "pull-requests": "read"
    }
    assert kb.analyze_action(action, {**off, "token": "${{ secrets.RELEASE_PAT }}"}, False) == Analysis()
    autolabeler = "release-drafter/release-drafter/autolabeler@v7"
    assert scopes(kb.analyze_action(autolabeler, {}, False)) == {"contents": "read", "pull-requests": "write"}
