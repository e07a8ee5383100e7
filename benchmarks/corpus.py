"""Milliseconds per file for `ztbot scan` and `ztbot fix` over ../shared/corpus, beside zizmor --offline.

Each tool runs as a subprocess over the same laid-out repositories; CPU time comes from the
children's rusage, so process start-up counts for both. ztbot runs with bytecode caching on (as an
installed package does, even where PYTHONDONTWRITEBYTECODE is set in the calling shell) after one
warm-up run. Prints figures; asserts nothing.

    python benchmarks/corpus.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.corpus import corpus_files, repo_path


def lay_out(work: Path) -> tuple[list[Path], list[Path]]:
    repos, files = [], []
    for src in corpus_files():
        root = work / src.stem
        target = root / repo_path(src.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(src.read_bytes())
        repos.append(root)
        files.append(target)
    return repos, files


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) for one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=False, env=ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def best(cmd: list[str], repeat: int) -> tuple[float, float]:
    measure(cmd)  # warm-up: bytecode and file caches
    runs = [measure(cmd) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not corpus_files():
        print("../shared/corpus is absent", file=sys.stderr)
        return 2
    ztbot = [sys.executable, "-m", "bot"]
    zizmor = shutil.which("zizmor")
    with tempfile.TemporaryDirectory() as tmp:
        repos, files = lay_out(Path(tmp))
        n = len(files)
        rows = [("ztbot scan", best([*ztbot, "scan", *map(str, repos)], args.repeat))]
        rows.append(("ztbot fix --diff", best([*ztbot, "fix", "--diff", *map(str, repos)], args.repeat)))
        if zizmor:
            rows.append(("zizmor --offline", best([zizmor, "--offline", "--no-progress", "--no-exit-codes",
                                                    "--format", "json", *map(str, files)], args.repeat)))
    print(f"{n} corpus files, best of {args.repeat} runs (one process per tool run, start-up included)")
    print(f"{'tool':<20}{'wall ms/file':>14}{'CPU ms/file':>14}")
    for name, (wall, cpu) in rows:
        print(f"{name:<20}{1000 * wall / n:>14.2f}{1000 * cpu / n:>14.2f}")
    if zizmor:
        print(f"scan/zizmor CPU ratio: {rows[0][1][1] / rows[2][1][1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
