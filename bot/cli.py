"""Command line: `ztbot scan|fix|transforms|explain|run|audit|demo ...`.

Exit codes: 0 ok; 1 findings/changes under --check, or some file failed, or an expected error;
2 usage; 3 internal error; 130 interrupted.
"""

from __future__ import annotations

import argparse
import difflib
import gc
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot import __version__
from bot.checkout import Checkout, open_targets
from bot.errors import UsageError, ZtbotError
from bot.report import text_lines, to_json, to_sarif
from bot.runner import INVALID, FileResult, Status, run_file, summary
from transforms.base import Context, Transform
from transforms.docs import doc as transform_doc
from transforms.registry import TRANSFORMS, default_enabled, select

if TYPE_CHECKING:
    from bot import config as config_mod

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}", f"see `{self.prog} --help`")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="ztbot", description="Zero Trust for GitHub Actions workflows.")
    parser.add_argument("--version", action="version", version=f"ztbot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    scan = sub.add_parser("scan", help="report findings (read-only): checkouts, or a whole org with --org")
    scan.add_argument("paths", nargs="*", metavar="PATH")
    scan.add_argument("--format", choices=("text", "json", "sarif", "markdown"), default="text",
                      help="markdown: the org posture report (--org only)")
    scan.add_argument("--org", metavar="ORG", help="scan every repository of ORG over the API (no PRs, no state)")
    scan.add_argument("--config", metavar="FILE", help="with --org: the org config (API URL, auth, selection)")
    scan.add_argument("--output", metavar="FILE", help="with --org: write the report to FILE")
    scan.add_argument("--state", metavar="FILE", help="with --org: read PR states from this state file")
    _shard(scan)
    _selection(scan)
    fix = sub.add_parser("fix", help="rewrite files in place (or show/check the changes)")
    fix.add_argument("paths", nargs="+", metavar="PATH")
    mode = fix.add_mutually_exclusive_group()
    mode.add_argument("--diff", action="store_true", help="print a unified diff; write nothing")
    mode.add_argument("--check", action="store_true", help="exit 1 if anything would change; write nothing")
    _selection(fix)
    sub.add_parser("transforms", help="list the transforms")
    explain = sub.add_parser("explain", help="print a transform's documentation")
    explain.add_argument("id")
    run = sub.add_parser("run", help="scan the org and open or update one PR per repository (the scheduled job)")
    run.add_argument("--config", required=True, metavar="FILE", help="the org config (ztbot.toml)")
    run.add_argument("--dry-run", action="store_true", help="write would-be PRs to paths.dry_run; no GitHub writes")
    run.add_argument("--reset-repo", action="append", metavar="OWNER/NAME", default=[],
                     help="forget the repo's closed PR, so its change may be proposed again (repeatable)")
    _shard(run)
    audit_cmd = sub.add_parser("audit", help="show the audit log (who changed what, when, why)")
    source = audit_cmd.add_mutually_exclusive_group()
    source.add_argument("--file", metavar="PATH", help="the audit log (default: paths.audit of --config)")
    source.add_argument("--config", metavar="FILE", help="the org config naming the audit log")
    audit_cmd.add_argument("--repo", default="", help="owner/name, or just the name")
    audit_cmd.add_argument("--run", default="", metavar="ID", help="one run's records")
    audit_cmd.add_argument("--transform", default="", metavar="ID")
    audit_cmd.add_argument("--format", choices=("table", "json"), default="table")
    demo = sub.add_parser("demo", help="run the bot against a local stand-in GitHub with a sample org (offline)")
    demo.add_argument("--keep", metavar="DIR", help="keep the stand-in, state and logs in DIR (new or empty)")
    return parser


def _shard(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shard", type=_parse_shard, metavar="K/N",
                        help="only the K-th of N stable partitions of the repositories (own state file per shard)")


def _parse_shard(text: str) -> tuple[int, int]:
    from bot.rollout import parse_shard

    try:
        return parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", action="append", metavar="ID", help="run only this transform (repeatable)")
    parser.add_argument("--disable", action="append", metavar="ID", help="skip this transform (repeatable)")
    parser.add_argument("--no-comments", action="store_true", help="no evidence comments on added lines")


def _transforms(args: argparse.Namespace) -> dict[str, Transform]:
    try:
        return select(args.only, args.disable)
    except KeyError as exc:
        raise UsageError(f"unknown transform id: {exc.args[0]}", "list them with `ztbot transforms`") from None


def _options(args: argparse.Namespace) -> dict[str, dict[str, object]]:
    return {"permissions": {"comments": not args.no_comments}}


def _run(args: argparse.Namespace, fix: bool) -> list[FileResult]:
    transforms = _transforms(args)
    options = _options(args)
    results = []
    for checkout in open_targets(args.paths):
        results += [_one(checkout, path, transforms, options, fix) for path in checkout.files]
    return results


def _one(checkout: Checkout, path: Path, transforms: dict[str, Transform],
         options: dict[str, dict[str, object]], fix: bool) -> FileResult:
    rel = checkout.rel(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return FileResult(display(path), Status.FAILED, errors=[f"{display(path)}: cannot read: {exc}"])
    ctx = Context(rel, checkout.read, options, checkout.repo)
    result = run_file(text, ctx, transforms, fix=fix)
    result.path = display(path)
    result.files = {display(checkout.root / rel_path): change for rel_path, change in result.files.items()}
    return result


def display(path: Path) -> str:
    """Paths as the user typed them: relative to the working directory when below it."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def cmd_scan(args: argparse.Namespace) -> int:
    if args.org:
        return cmd_scan_org(args)
    if not args.paths:
        raise UsageError("ztbot scan: give PATH... or --org ORG", "see `ztbot scan --help`")
    if args.format == "markdown" or args.config or args.output or args.shard or args.state:
        raise UsageError("ztbot scan: --format markdown, --config, --output, --state and --shard need --org",
                         "see `ztbot scan --help`")
    results = _run(args, fix=False)
    totals = summary(results)
    if args.format == "json":
        print(to_json(results, totals))
    elif args.format == "sarif":
        transforms = _transforms(args)
        print(to_sarif(results, transforms, {t: transform_doc(t) or "" for t in transforms}))
    else:
        for line in text_lines(results):
            print(line)
    print(f"ztbot scan: {totals['files']} files, {totals['findings']} findings "
          f"({totals['fixable']} fixable), {totals['failed']} failed", file=sys.stderr)
    return EXIT_FAIL if totals["failed"] else EXIT_OK


def cmd_scan_org(args: argparse.Namespace) -> int:
    from bot.orchestrate import open_hub
    from bot.orgscan import render, scan_org

    if args.paths:
        raise UsageError("ztbot scan: PATH and --org exclude each other", "scan checkouts or an org, not both")
    config = _org_config(args.config, args.org)
    if args.only or args.disable:
        config.transforms.enabled = list(_transforms(args))
    from bot.state import shard_path

    # PR states come from the bot's state file: the one named, or the config's (this shard's) when it exists.
    state_file = args.state or (str(shard_path(config.paths.state, args.shard)) if args.config else None)
    result = scan_org(config, open_hub(config), args.shard, state_file)
    text = render(result, args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    totals = result.totals()
    print(f"ztbot scan: {totals['repositories']} repositories, {totals['scanned']} scanned, {totals['findings']} "
          f"findings, {totals['with_static_credentials']} with static credentials, {totals['failed']} failed"
          + (f"; report in {args.output}" if args.output else ""), file=sys.stderr)
    return EXIT_FAIL if result.failures else EXIT_OK


def _org_config(path: str | None, org: str) -> config_mod.Config:
    from bot import config as config_mod  # only org commands need it: keeps `scan PATH` start-up small

    config = config_mod.load(path) if path else config_mod.Config()
    config.github.name = org
    if config.github.target == "installation":
        config.github.target = "org"
    return config


def cmd_audit(args: argparse.Namespace) -> int:
    import json

    from bot import audit
    from bot import config as config_mod

    path = args.file or (config_mod.load(args.config).paths.audit if args.config else config_mod.PathsConfig().audit)
    if not Path(path).exists():
        raise ZtbotError(f"{path}: no audit log there", "pass --file PATH or --config FILE of the bot's run")
    records = audit.select(audit.read(path), repo=args.repo, run=args.run, transform=args.transform)
    print(json.dumps(records, indent=1) if args.format == "json" else audit.table(records))
    print(f"ztbot audit: {len(records)} record(s) from {path}", file=sys.stderr)
    return EXIT_OK


def cmd_fix(args: argparse.Namespace) -> int:
    results = _run(args, fix=True)
    for r in results:
        _report_fix(r, args)
    totals = summary(results)
    changed = sum(r.changed or bool(r.files) for r in results)
    verb = "would change" if args.diff or args.check else "changed"
    print(f"ztbot fix: {totals['files']} files, {changed} {verb}, {totals['failed']} failed", file=sys.stderr)
    if totals["failed"] or (args.check and changed):
        return EXIT_FAIL
    return EXIT_OK


def _report_fix(r: FileResult, args: argparse.Namespace) -> None:
    for e in r.errors:
        print(f"error: {e}", file=sys.stderr)
    for _, f in r.findings:
        if not f.fixable and f.rule not in INVALID:
            print(f"{r.path}:{f.line}: {f.severity.value} [{f.rule}] {f.message}", file=sys.stderr)
    changes = ([(r.path, r.before, r.after)] if r.changed else []) + [(p, a, b) for p, (a, b) in r.files.items()]
    for path, before, after in changes:
        if args.diff:
            sys.stdout.writelines(difflib.unified_diff(
                before.splitlines(keepends=True), after.splitlines(keepends=True),
                f"a/{path.lstrip('/')}", f"b/{path.lstrip('/')}"))
        elif not args.check:
            Path(path).write_bytes(after.encode("utf-8"))


def cmd_transforms(_args: argparse.Namespace) -> int:
    for tid, t in TRANSFORMS.items():
        kind = "safe" if t.safe else "needs setup"
        optin = "" if default_enabled(t) else " (opt-in: run only when named)"
        print(f"{tid:<24} {kind:<12} {t.summary}{optin}")
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    if args.id not in TRANSFORMS:
        raise UsageError(f"unknown transform id: {args.id}", "list them with `ztbot transforms`")
    print(transform_doc(args.id) or TRANSFORMS[args.id].summary)
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    # Imported here so that the offline commands (scan, fix) never load PyGithub and git.
    from bot import config as config_mod
    from bot.orchestrate import open_hub, run

    config = config_mod.load(args.config)
    report = run(config, open_hub(config), dry_run=args.dry_run, shard=args.shard, reset=args.reset_repo)
    for line in report.lines():
        print(f"ztbot run: {line}", file=sys.stderr)
    return EXIT_FAIL if report.failures else EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import demo

    return demo(args.keep)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "scan": cmd_scan, "fix": cmd_fix, "transforms": cmd_transforms, "explain": cmd_explain,
    "run": cmd_run, "audit": cmd_audit, "demo": cmd_demo,
}


# A scan or fix allocates many small objects per file (YAML nodes, plain data, model views) and frees
# them with the file. At the default threshold (700) the cyclic collector runs hundreds of times and
# re-traverses every surviving object each time: ~5% of a corpus scan's CPU. Collections still happen.
GC_THRESHOLD = (10_000, 10, 10)


def main(argv: Sequence[str] | None = None) -> int:
    gc.set_threshold(*GC_THRESHOLD)
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ZtbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`ztbot scan ... | head`): stop quietly, as other CLI tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        print(f"internal error: {type(exc).__name__}: {exc}\nhint: please report this with the input file",
              file=sys.stderr)
        return EXIT_INTERNAL
