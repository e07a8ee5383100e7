"""`run:` scripts -> token scopes. Scripts are written line by line so the whitespace is visible."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.analysis import check
from transforms.shellcmd import analyze_run

STEP = "Step A"
GH = frozenset({"GH_TOKEN"})
GITHUB = frozenset({"GITHUB_TOKEN"})
NONE: frozenset[str] = frozenset()
ISSUE_OR_PR_WRITE = {("issues", "write"), ("pull-requests", "write")}


@dataclass(frozen=True)
class Case:
    id: str
    script: str
    token_vars: frozenset[str]
    needs: set[tuple[str, str]]
    commands: tuple[str, ...] = ()  # each must be named by some need reason
    unknown: str = ""  # a fragment every unknown reason must contain; "" = no unknowns
    shell: str | None = None


def lines(*parts: str) -> str:
    return "\n".join(parts) + "\n"


NODE = frozenset({"NODE_AUTH_TOKEN"})

CASES = [
    Case("yarn publish with the token as NODE_AUTH_TOKEN", "yarn publish --non-interactive", NODE,
         {("packages", "write")}, ("yarn publish",)),
    Case("npm ci with the token as NODE_AUTH_TOKEN", "npm ci", NODE, {("packages", "read")}, ("npm ci",)),
    Case("bare yarn installs", "yarn", NODE, {("packages", "read")}, ("yarn install",)),
    Case("npm run runs scripts we cannot see", "npm run release", NODE, set(), unknown="'npm'"),
    Case("npm publish with the token under GITHUB_TOKEN too", "npm publish", frozenset({"NODE_AUTH_TOKEN", "GH_TOKEN"}),
         set(), unknown="'npm'"),
    Case(
        "gh pr comment with GH_TOKEN",
        "gh pr comment 1 --body x",
        GH,
        {("pull-requests", "write")},
        ("gh pr comment",),
    ),
    Case("gh without a token fails, needs nothing", "gh pr comment 1 --body x", NONE, set()),
    Case(
        "gh ignores a token under another name",
        "gh pr comment 1 --body x",
        frozenset({"TOKEN"}),
        set(),
        unknown="",
    ),
    Case(
        "gh api POST issue comment",
        "gh api -X POST repos/{owner}/{repo}/issues/1/comments",
        GH,
        ISSUE_OR_PR_WRITE,
        ("gh api POST /repos/{owner}/{repo}/issues/{issue_number}/comments",),
    ),
    Case(
        "gh api GET releases",
        "gh api repos/{owner}/{repo}/releases",
        GITHUB,
        {("contents", "read")},
        ("gh api GET /repos/{owner}/{repo}/releases",),
    ),
    Case(
        "gh api graphql",
        "gh api graphql -f query='query { viewer { login } }'",
        GH,
        set(),
        unknown="GraphQL permissions are not mapped",
    ),
    Case("gh api non-literal path", 'gh api "$ENDPOINT" --jq .name', GH, set(), unknown="not literal"),
    Case(
        "gh api with $GITHUB_REPOSITORY",
        "gh api repos/$GITHUB_REPOSITORY/releases/latest -q .tag_name",
        GH,
        {("contents", "read")},
        ("gh api GET /repos/{owner}/{repo}/releases/latest",),
    ),
    Case("git push without token env", "git push origin main", NONE, {("contents", "write")}, ("git push",)),
    Case("git push --tags", "git tag v1 && git push --tags", NONE, {("contents", "write")}, ("git push",)),
    Case(
        "git push refspec and delete",
        lines("git push origin HEAD:refs/heads/x", "git push --delete origin x"),
        NONE,
        {("contents", "write")},
        ("git push",),
    ),
    Case("git tag alone", "git tag -a v1 -m release", NONE, set()),
    Case(
        "git fetch with global options",
        "git -C sub -c protocol.version=2 fetch --depth 1 origin",
        NONE,
        {("contents", "read")},
        ("git fetch",),
    ),
    Case(
        "git pull and clone",
        lines("git pull --rebase", "git clone https://github.com/o/r"),
        NONE,
        {("contents", "read")},
        ("git pull", "git clone"),
    ),
    Case(
        "multi-line with &&, pipes, comments and continuations",
        lines(
            "set -euo pipefail",
            "# gh pr merge 1   <- a comment, not a command",
            "gh pr list --json number | jq '.[]' && \\",
            '  gh issue create --title "t" \\',
            "    --body 'b # not a comment'  # trailing comment: gh run cancel",
        ),
        GH,
        {("pull-requests", "read"), ("issues", "write")},
        ("gh pr list", "gh issue create"),
    ),
    Case(
        "heredoc body is not parsed as commands",
        lines("cat <<'EOF' > notes.md", "gh pr merge 1", "git push", "EOF", "gh release view v1"),
        GH,
        {("contents", "read")},
        ("gh release view",),
    ),
    Case(
        "indented heredoc with <<-",
        lines("if true; then", "\tcat <<-EOF", "\tgh run cancel 1", "\tEOF", "fi"),
        GH,
        set(),
    ),
    Case(
        "GitHub expressions with spaces and quotes",
        'gh release create "v${{ inputs.version }}" --notes "${{ format(\'{0} x\', github.sha) }}"',
        GH,
        {("contents", "write")},
        ("gh release create",),
    ),
    Case(
        "inline token expression as env prefix",
        'GH_TOKEN=${{ github.token }} gh workflow run ci.yml -f ref="${{ github.ref }}"',
        NONE,
        {("actions", "write")},
        ("gh workflow run",),
    ),
    Case(
        "exported token expression reaches later commands",
        lines("export GH_TOKEN=${{ secrets.GITHUB_TOKEN }}", "gh issue comment 3 -b hi"),
        NONE,
        {("issues", "write")},
        ("gh issue comment",),
    ),
    Case(
        "curl with bearer header POST dispatches",
        'curl -sS -H "Authorization: Bearer $GITHUB_TOKEN" -X POST '
        'https://api.github.com/repos/o/r/dispatches -d \'{"event_type":"go"}\'',
        GITHUB,
        {("contents", "write")},
        ("curl POST /repos/{owner}/{repo}/dispatches",),
    ),
    Case(
        "curl with data defaults to POST, API URL variable",
        'curl -H "Authorization: token ${{ github.token }}" --data \'{"labels":["x"]}\' '
        '"$GITHUB_API_URL/repos/$GITHUB_REPOSITORY/issues/5/labels"',
        NONE,
        ISSUE_OR_PR_WRITE,
        ("curl POST /repos/{owner}/{repo}/issues/{issue_number}/labels",),
    ),
    Case(
        "curl without the token is anonymous",
        "curl -fsSL https://api.github.com/repos/o/r/releases/latest",
        GITHUB,
        set(),
    ),
    Case(
        "curl to a non-literal URL with the token",
        'curl -H "Authorization: Bearer $GITHUB_TOKEN" "$URL"',
        GITHUB,
        set(),
        unknown="not a literal GitHub API URL",
    ),
    Case(
        "wget with header",
        'wget --header="Authorization: token $GITHUB_TOKEN" -qO- https://api.github.com/repos/o/r/pulls',
        GITHUB,
        {("pull-requests", "read")},
        ("wget GET",),
    ),
    Case(
        "unmappable program with the token",
        "npx semantic-release",
        GITHUB,
        set(),
        unknown="program 'npx' is given GITHUB_TOKEN and cannot be mapped (npx semantic-release)",
    ),
    Case("same program without the token", "npx semantic-release", NONE, set()),
    Case(
        "token passed as an argument",
        'docker login ghcr.io -u me -p "${{ secrets.GITHUB_TOKEN }}"',
        NONE,
        set(),
        unknown="program 'docker'",
    ),
    Case("echo of a gh command is an argument", 'echo "gh pr comment 1 --body x"', GH, set()),
    Case(
        "echo writes the token on",
        'echo "GH_TOKEN=$GH_TOKEN" >> "$GITHUB_ENV"',
        GH,
        set(),
        unknown="'echo' passes the token on",
    ),
    Case("test looks at the token only", 'if [ -z "$GH_TOKEN" ]; then exit 1; fi', GH, set()),
    Case(
        "command substitution is analysed",
        lines('TITLE="$(gh pr view 1 --json title -q .title)"', 'echo "$TITLE"'),
        GH,
        {("pull-requests", "read")},
        ("gh pr view",),
    ),
    Case(
        "backticks",
        "N=`gh run list -L 1 --json databaseId -q '.[0].databaseId'`",
        GH,
        {("actions", "read")},
        ("gh run list",),
    ),
    Case(
        "sudo and env wrappers",
        "sudo -E env GH_TOKEN=$TOKEN gh run rerun 1",
        frozenset({"TOKEN"}),
        {("actions", "write")},
        ("gh run rerun",),
    ),
    Case(
        "xargs runs gh",
        "echo 1 2 | xargs -n1 gh pr close",
        GH,
        {("pull-requests", "write")},
        ("gh pr close",),
    ),
    Case(
        "bash -c script", "bash -c 'gh cache delete --all'", GH, {("actions", "write")}, ("gh cache delete",)
    ),
    Case(
        "loops and case",
        lines(
            "for f in dist/*; do",
            '  gh release upload v1 "$f"',
            "done",
            'case "$X" in',
            "  a|b) gh pr list ;;",
            "  *) echo none ;;",
            "esac",
        ),
        GH,
        {("contents", "write"), ("pull-requests", "read")},
        ("gh release upload", "gh pr list"),
    ),
    Case("arithmetic and arrays are not commands", lines("arr=(one two)", "echo $((1 + 2))"), GH, set()),
    Case(
        "pwsh with the token",
        "gh pr comment 1 -b x",
        GH,
        set(),
        unknown="a pwsh script is given",
        shell="pwsh",
    ),
    Case("pwsh without the token", "Write-Host hello", NONE, set(), shell="pwsh"),
    Case(
        "custom bash shell template",
        "git push",
        NONE,
        {("contents", "write")},
        ("git push",),
        shell="bash --noprofile --norc -eo pipefail {0}",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_analyze_run(case: Case) -> None:
    check(analyze_run(case.script, case.shell, case.token_vars, STEP), STEP, case.needs, case.commands, case.unknown)


def test_exact_reasons() -> None:
    found = analyze_run("gh pr comment 1 --body x\ngit push origin main", None, GH, "Comment")
    assert [need.reason for need in found.needs] == [
        'gh pr comment in step "Comment"',
        'git push in step "Comment"',
    ]


def test_repeated_commands_are_reported_once() -> None:
    found = analyze_run("git push\ngit push --tags", None, NONE, STEP)
    assert len(found.needs) == 1
