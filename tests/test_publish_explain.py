"""The PR text of the publish-* transforms, and the small parsers they rely on."""

from __future__ import annotations

from transforms import publishing as pub
from transforms.base import Context
from transforms.publish_npm import node_ok
from transforms.publish_pypi import twine_args
from transforms.registry import TRANSFORMS
from transforms.yamldoc import parse

PYPI = """\
on:
  release:
    types: [published]
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: pypi
    permissions:
      contents: read
    steps:
      - uses: pypa/gh-action-pypi-publish@release/v1
        with:
          password: ${{ secrets.PYPI_API_TOKEN }}
"""


def test_pypi_explain_lists_the_publisher_fields() -> None:
    t = TRANSFORMS["publish-pypi"]
    ctx = Context(".github/workflows/release.yml", repo="octo-org/widgets")
    text = t.explain(t.detect(parse(PYPI), ctx))
    assert "| PyPI | `octo-org` | `widgets` | `release.yml` | `pypi` |" in text
    assert "`PYPI_API_TOKEN`" in text
    assert "**Roll back:**" in text


def test_a_token_another_job_still_reads_is_kept() -> None:
    t = TRANSFORMS["publish-pypi"]
    other = PYPI + """  check:
    runs-on: ubuntu-latest
    steps:
      - run: ./scripts/verify-token.sh
        env:
          T: ${{ secrets.PYPI_API_TOKEN }}
"""
    text = t.explain(t.detect(parse(other), Context(".github/workflows/release.yml", repo="octo-org/widgets")))
    assert "- Keep `PYPI_API_TOKEN` for now: job `check`" in text and "delete the repository secret" not in text
    alone = t.explain(t.detect(parse(PYPI), Context(".github/workflows/release.yml", repo="octo-org/widgets")))
    assert "delete the repository secret(s) `PYPI_API_TOKEN`" in alone and "Keep" not in alone


def test_refusal_is_explained() -> None:
    t = TRANSFORMS["publish-pypi"]
    doc = parse(PYPI.replace("release:\n    types: [published]", "workflow_call:"))
    findings = t.detect(doc, Context(".github/workflows/release.yml"))
    assert [f.fixable for f in findings] == [False]
    assert "workflow_call" in t.explain(findings)


def test_node_versions() -> None:
    assert node_ok(24) and node_ok("24.x") and node_ok("lts/*") and node_ok("v25.1.0") and node_ok("24.5.0")
    assert not node_ok(22) and not node_ok("20.x") and not node_ok("24.1.0") and not node_ok("lts/iron")


def test_commands_split_like_a_shell() -> None:
    cmds = pub.commands("python -m build && \\\n  twine upload dist/* # upload\necho '${{ x }}; y'")
    assert cmds == [["python", "-m", "build"], ["twine", "upload", "dist/*"], ["echo", "${{ x }}; y"]]
    assert twine_args(["python3", "-m", "twine", "upload", "-r", "testpypi", "dist/*"]) == ["-r", "testpypi", "dist/*"]
    assert twine_args(["twine", "check", "dist/*"]) is None


GITHUB_PACKAGES = """on: push
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-node@v4
        with:
          registry-url: https://npm.pkg.github.com
      - run: yarn publish --non-interactive
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_ACCESS_TOKEN }}
"""


def _packages_findings(package_json: str | None) -> list:
    files = {"package.json": package_json}
    ctx = Context(".github/workflows/publish.yml", files.get, {}, "acme/app")
    return TRANSFORMS["publish-npm"].detect(parse(GITHUB_PACKAGES), ctx)


def test_github_packages_token_becomes_the_github_token_for_the_owners_scope() -> None:
    [found] = _packages_findings('{"name": "@acme/config"}')
    assert found.fixable and "GITHUB_TOKEN" in found.message
    said = TRANSFORMS["publish-npm"].explain([found])
    assert "Manage Actions access" in said and "delete `NPM_ACCESS_TOKEN`" in said
    assert "Trusted Publisher" not in said


def test_github_packages_of_another_owners_scope_are_left_alone() -> None:
    [found] = _packages_findings('{"name": "@someone-else/config"}')
    assert not found.fixable
    assert "`@someone-else`, not this repository's owner `acme`" in found.message
