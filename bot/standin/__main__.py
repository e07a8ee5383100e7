"""`python -m bot.standin --root DIR --port N`: serve a stand-in GitHub until interrupted."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

from bot.standin.server import StandIn


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.standin", description=__doc__)
    parser.add_argument(
        "--root", type=Path, required=True, help="directory of bare repos (<owner>/<name>.git)"
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = pick a free one)")
    parser.add_argument("--token", action="append", default=[], help="accept this token (repeatable)")
    parser.add_argument("--login", default="ztbot-user", help="login the --token values act as")
    parser.add_argument("--app-id", type=int, default=1)
    parser.add_argument("--app-public-key", type=Path, help="PEM used to verify GitHub App JWTs (RS256)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    key = args.app_public_key.read_text() if args.app_public_key else None
    gh = StandIn(args.root, port=args.port, app_id=args.app_id, app_public_key=key)
    tokens = [gh.add_token(args.login, value=value) for value in args.token] or [gh.add_token(args.login)]
    with gh:
        # One JSON line so scripts can read the URLs and tokens from stdout.
        print(
            json.dumps(
                {"url": gh.url, "api_url": gh.api_url, "graphql_url": gh.graphql_url, "tokens": tokens}
            ),
            flush=True,
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
