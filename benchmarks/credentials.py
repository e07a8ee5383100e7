"""How many corpus files with static credentials `ztbot fix` rewrites, and why the others stay (issue #3).

A file counts when it is in one of the manifest's credential categories; it is *rewritten* when at
least one credential transform (oidc-*, registry-login, publish-*) changed it. Every other file is
listed with the first reason the run gave. Prints figures; asserts nothing.

    python benchmarks/credentials.py [--all-reasons]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bot.runner import run_file
from tests.corpus import CREDENTIAL_CATEGORIES, CREDENTIAL_TRANSFORMS, categories, corpus_files, credential_reasons
from transforms.base import Context
from transforms.registry import TRANSFORMS


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all-reasons", action="store_true", help="every reason, not only the first")
    args = parser.parse_args()
    cats = categories()
    files = [f for f in corpus_files() if cats.get(f.name, set()) & CREDENTIAL_CATEGORIES]
    if not files:
        print("../shared/corpus is absent")
        return 0
    rewritten, kept = [], []
    for src in files:
        text = src.read_bytes().decode("utf-8")
        result = run_file(text, Context(f".github/workflows/{src.name}", lambda _: None, {}), TRANSFORMS)
        done = sorted(set(result.applied) & CREDENTIAL_TRANSFORMS)
        (rewritten if done else kept).append((src.name, done, credential_reasons(result.findings)))
    for name, done, _ in rewritten:
        print(f"rewritten  {name}  ({', '.join(done)})")
    for name, _, reasons in kept:
        shown = reasons if args.all_reasons else reasons[:1]
        print(f"kept       {name}  " + ("; ".join(r[:240] for r in shown) if shown else "NO REASON"))
    silent = sum(1 for _, _, r in kept if not r)
    print(f"\ncredential files {len(files)}: rewritten {len(rewritten)} ({len(rewritten) / len(files):.0%}), "
          f"kept with a reason {len(kept) - silent}, kept without a reason {silent}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
