"""git smart HTTP through `git http-backend` (CGI), with GitHub-style auth and workflow push checks."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.standin.auth import authenticate
from bot.standin.gitstore import git_env
from bot.standin.rest import can_see
from bot.standin.web import ApiError

if TYPE_CHECKING:
    from bot.standin.handler import RequestHandler
    from bot.standin.server import StandIn
    from bot.standin.state import Token

_GIT_PATH = re.compile(
    r"^/(?P<owner>[^/]+)/(?P<repo>[^/]+?)(?:\.git)?"
    r"(?P<rest>/(?:info/refs|git-upload-pack|git-receive-pack|HEAD|objects/.+))$"
)
_HOOK = Path(__file__).with_name("proc_receive.py")


def is_git_path(path: str) -> bool:
    return _GIT_PATH.match(path) is not None


def serve(request: RequestHandler, path: str, raw_query: str) -> int:
    gh = request.gh
    found = _GIT_PATH.match(path)
    assert found is not None
    owner, name, rest = found["owner"], found["repo"], found["rest"]
    body = request.read_body()
    pushing = rest.endswith("git-receive-pack") or "service=git-receive-pack" in raw_query
    try:
        token = authenticate(gh, request.headers.get("Authorization"))
    except ApiError:
        return _plain(
            request,
            401,
            "Invalid username or token. Password authentication is not supported for Git operations.\n",
            challenge=True,
        )
    meta = gh.repo(owner, name)
    if token is None:
        return _plain(request, 401, "Authentication required\n", challenge=True)
    if meta is None or not can_see(gh, token, meta):
        return _plain(request, 404, "Repository not found.\n")
    if pushing and meta.archived:
        return _plain(request, 403, "This repository was archived so it is read-only.\n")
    env = _cgi_env(request, gh, f"/{meta.owner}/{meta.name}.git{rest}", raw_query, len(body), token)
    if pushing and rest.endswith("git-receive-pack"):
        env.update(_workflow_guard(gh, path, token))
    proc = subprocess.run(["git", "http-backend"], input=body, capture_output=True, env=env, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr.decode(errors="replace"))
    return _relay(request, proc.stdout)


def _cgi_env(
    request: RequestHandler, gh: StandIn, path_info: str, query: str, length: int, token: Token
) -> dict[str, str]:
    env = git_env(
        {
            "GIT_PROJECT_ROOT": str(gh.root.resolve()),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path_info,
            "QUERY_STRING": query,
            "REQUEST_METHOD": request.command,
            "CONTENT_LENGTH": str(length),
            "CONTENT_TYPE": request.headers.get("Content-Type", ""),
            "REMOTE_USER": token.login,
            "REMOTE_ADDR": request.client_address[0],
            "SERVER_PROTOCOL": "HTTP/1.1",
            "GATEWAY_INTERFACE": "CGI/1.1",
        }
    )
    if request.headers.get("Git-Protocol"):
        env["GIT_PROTOCOL"] = request.headers["Git-Protocol"]  # protocol v2 rides on this header
    if request.headers.get("Content-Encoding"):
        env["HTTP_CONTENT_ENCODING"] = request.headers["Content-Encoding"]
    return env


def _workflow_guard(gh: StandIn, path: str, token: Token) -> dict[str, str]:
    """Env that routes ref updates through the proc-receive hook when workflow edits must be refused."""
    fault = gh.faults.workflow_push_rule(path)
    if fault is not None:
        actor = fault.actor
    elif not token.can_push_workflows:
        actor = "app" if token.kind == "installation" else "oauth"
    else:
        return {}
    hooks = _hooks_dir(gh)
    return {
        "GIT_CONFIG_COUNT": "2",
        "GIT_CONFIG_KEY_0": "core.hooksPath",
        "GIT_CONFIG_VALUE_0": str(hooks),
        "GIT_CONFIG_KEY_1": "receive.procReceiveRefs",
        "GIT_CONFIG_VALUE_1": "refs/",
        "STANDIN_WORKFLOW_ACTOR": actor,
    }


def _hooks_dir(gh: StandIn) -> Path:
    hooks = gh.root / ".standin-hooks"
    script = hooks / "proc-receive"
    if not script.exists():
        hooks.mkdir(parents=True, exist_ok=True)
        script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{_HOOK}" "$@"\n')
        script.chmod(0o755)
    return hooks


def _relay(request: RequestHandler, output: bytes) -> int:
    """Turn CGI output (headers, blank line, body) into an HTTP response."""
    head, _, body = output.partition(b"\r\n\r\n")
    if not _ and b"\n\n" in output:
        head, _, body = output.partition(b"\n\n")
    status, headers = 200, []
    for line in head.decode("latin-1").splitlines():
        key, _, value = line.partition(":")
        if key.lower() == "status":
            status = int(value.split()[0])
        elif key:
            headers.append((key, value.strip()))
    request.send_response(status)
    for key, value in headers:
        request.send_header(key, value)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)
    return status


def _plain(request: RequestHandler, status: int, text: str, challenge: bool = False) -> int:
    data = text.encode()
    request.send_response(status)
    if challenge:
        request.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
    request.send_header("Content-Type", "text/plain")
    request.send_header("Content-Length", str(len(data)))
    request.end_headers()
    request.wfile.write(data)
    return status
