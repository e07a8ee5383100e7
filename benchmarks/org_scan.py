"""Requests per repository and wall time of an org scan, against the stand-in with 100 ms per request.

Seeds an org with N repositories (two workflow files each), then measures
- cold: list every repository and read every repository's files;
- warm: list again and read only the repositories whose head commit moved (1% of them here);
- idle: list again when nothing moved.
Prints figures; asserts nothing. Targets: cold <= 0.06 req/repo, warm <= 0.011 req/repo,
1,000 repos cold <= 15 s.

    python benchmarks/org_scan.py [--sizes 100 1000] [--latency 0.1] [--batch 25] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bot.config import GitHubConfig, LimitsConfig
from bot.github import GitHubClient, RequestCounts, ScanResult, connect
from bot.standin import StandIn

ORG = "bench"
CI = "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
RELEASE = "on:\n  release:\n    types: [published]\njobs:\n  publish:\n    runs-on: ubuntu-latest\n" \
          "    steps:\n      - run: make publish\n        env:\n          TOKEN: ${{ secrets.TOKEN }}\n"


def seed(gh: StandIn, count: int) -> None:
    gh.add_org(ORG)
    for i in range(count):
        gh.create_repo(ORG, f"repo-{i:04}", {".github/workflows/ci.yml": CI + f"# repo {i}\n",
                                              ".github/workflows/release.yml": RELEASE, "README.md": f"# {i}\n"})


def timed(client: GitHubClient, known: dict[str, str] | None) -> tuple[ScanResult, RequestCounts, float]:
    before, start = client.counts, time.perf_counter()
    result = client.scan(known)
    return result, client.counts - before, time.perf_counter() - start


def report(size: int, phase: str, result: ScanResult, counts: RequestCounts, seconds: float) -> None:
    files = sum(len(f.files) for f in result.fetched)
    print(f"{size:>6} {phase:<6} {len(result.fetched):>8} {files:>6} {counts.graphql:>8} "
          f"{counts.rest_read + counts.rest_write:>5} {counts.total / size:>9.4f} {seconds:>8.2f}")


def run(size: int, latency: float, batch: int, concurrency: int, root: Path) -> None:
    with StandIn(root / f"org-{size}") as gh:
        seed(gh, size)
        token = gh.add_token("ztbot-bench")
        cfg = GitHubConfig(target="org", name=ORG, base_url=gh.api_url)
        limits = LimitsConfig(max_concurrency=concurrency)
        with connect(cfg, limits, env={"ZTBOT_TOKEN": token}, batch_size=batch) as client:
            client.transport.graphql("query { viewer { login } }")  # builds the stand-in's schema: not timed
            gh.inject(kind="latency", delay=latency)
            cold, counts, seconds = timed(client, None)
            report(size, "cold", cold, counts, seconds)
            known = {r.full_name: r.head_oid for r in cold.repos if r.head_oid}
            for i in range(0, size, 100):  # 1% of the repositories get a new commit
                gh.commit(ORG, f"repo-{i:04}", {".github/workflows/ci.yml": CI + f"# changed {i}\n"})
            warm, counts, seconds = timed(client, known)
            report(size, "warm", warm, counts, seconds)
            known = {r.full_name: r.head_oid for r in warm.repos if r.head_oid}
            idle, counts, seconds = timed(client, known)
            report(size, "idle", idle, counts, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to every request")
    parser.add_argument("--batch", type=int, default=25, help="repositories per GraphQL file query")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    print(f"latency {args.latency * 1000:.0f} ms/request, batch {args.batch}, concurrency {args.concurrency}")
    print(f"{'repos':>6} {'scan':<6} {'fetched':>8} {'files':>6} {'graphql':>8} {'rest':>5} {'req/repo':>9} "
          f"{'wall s':>8}")
    with tempfile.TemporaryDirectory(prefix="ztbot-bench-") as tmp:
        for size in args.sizes:
            run(size, args.latency, args.batch, args.concurrency, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
