"""The HTTP request handler: faults first, then git smart HTTP, GraphQL, REST or the admin API."""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import sys
import time
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

from bot.standin import admin, githttp, graphql_api, rest
from bot.standin.auth import authenticate
from bot.standin.faults import fault_response
from bot.standin.state import Token
from bot.standin.web import ApiError, Response

if TYPE_CHECKING:
    from bot.standin.server import StandIn, _Server

API_PREFIX = "/api/v3"
GRAPHQL_PATHS = ("/api/graphql", "/api/v3/graphql", "/graphql")


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes; don't wait on delayed ACKs
    server: _Server

    def do_GET(self) -> None:
        self.handle_any()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the stand-in keeps its own request log; stderr noise would drown test output

    @property
    def gh(self) -> StandIn:
        return self.server.standin

    # -- entry -----------------------------------------------------------------------------------
    def handle_any(self) -> None:
        self._body: bytes | None = None  # one handler instance serves every request on a keep-alive socket
        parts = urllib.parse.urlsplit(self.path)
        path, query = parts.path, dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        self._log_path: str | None = None if path.startswith("/_standin/") else path
        if path.startswith("/_standin/"):
            self.send_json(*admin.handle(self.gh, self.command, path, self.read_json()))
            return
        outcome = self.gh.faults.consult(self.command, path)
        if outcome.delay:
            time.sleep(outcome.delay)
        if outcome.fault and outcome.fault.kind in ("drop", "timeout"):
            time.sleep(outcome.fault.delay if outcome.fault.kind == "timeout" else 0)
            self.send_response_log(0)
            self.drop()
            return
        if outcome.fault:
            self.read_body()
            status, headers, body = fault_response(outcome.fault)
            self.send_json(status, body, headers)
            return
        self.route(path, parts.query, query)

    def send_response_log(self, code: int) -> None:
        # Logged before any byte goes out, so a client that has its answer always finds it in the log.
        if self._log_path is not None:
            self.gh.log(self.command, self._log_path, code)
            self._log_path = None

    def send_response(self, code: int, message: str | None = None) -> None:
        self.send_response_log(code)
        super().send_response(code, message)

    def route(self, path: str, raw_query: str, query: dict[str, str]) -> int:
        if githttp.is_git_path(path):
            return githttp.serve(self, path, raw_query)
        if path in GRAPHQL_PATHS and self.command == "POST":
            return self.api_call(lambda token: graphql_api.handle(self.gh, token, self.read_json()))
        if path.startswith(API_PREFIX):
            sub = path[len(API_PREFIX) :] or "/"
            return self.api_call(lambda token: rest.handle(self.gh, self, sub, query, token))
        return self.send_json(
            404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
        )

    # -- REST / GraphQL common path: auth, rate limit, ETag ----------------------------------------
    def api_call(self, call: Any) -> int:
        """`call(token)` returns (Response, rate-limit resource or None)."""
        token: Token | None = None
        resource: str | None = None
        try:
            token = authenticate(self.gh, self.headers.get("Authorization"))
            if token is None:
                self.read_body()
                raise ApiError(401, "Requires authentication", doc="https://docs.github.com/rest")
            response, resource = call(token)
        except ApiError as err:
            response = Response(err.status, err.body(), err.headers)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            response = Response(
                500, {"message": "Server Error", "documentation_url": "https://docs.github.com/rest"}
            )
        return self.finish_api(response, token, resource)

    def finish_api(self, response: Response, token: Token | None, resource: str | None) -> int:
        headers = {
            "X-GitHub-Request-Id": uuid.uuid4().hex[:20].upper(),
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            **response.headers,
        }
        status = response.status
        if self.command == "GET" and status == 200 and response.body is not None:
            etag = (
                'W/"' + hashlib.sha256(json.dumps(response.body, sort_keys=True).encode()).hexdigest() + '"'
            )
            headers["ETag"] = etag
            if _etag_matches(self.headers.get("If-None-Match"), etag):
                status = 304
        if token is not None and token.kind != "jwt" and resource:
            headers.update(rate_headers(token, resource, counted=status != 304))
            if token.kind == "oauth":
                headers["X-OAuth-Scopes"] = ", ".join(token.scopes)
        if status == 304:
            return self.send_json(304, None, headers)
        return self.send_json(status, response.body, headers)

    # -- I/O -----------------------------------------------------------------------------------
    def read_body(self) -> bytes:
        if self._body is not None:
            return self._body
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._body = self._read_chunked()
        else:
            self._body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        return self._body

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def read_json(self) -> Any:
        raw = self.read_body()
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return _BadJson()

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> int:
        data = b"" if body is None or status in (204, 304) else json.dumps(body, indent=1).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if data:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        return status

    def drop(self) -> None:
        # Vanish like a reset proxy: no status line, no headers.
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _BadJson:
    """Marker for a body that is not JSON; handlers answer 400 'Problems parsing JSON'."""


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag.removeprefix("W/") in wanted or "*" in wanted


def rate_headers(token: Token, resource: str, counted: bool = True) -> dict[str, str]:
    budget = token.budget(resource)
    if counted:
        budget.used += 1
    return {
        "X-RateLimit-Limit": str(budget.limit),
        "X-RateLimit-Remaining": str(budget.remaining),
        "X-RateLimit-Reset": str(budget.reset),
        "X-RateLimit-Used": str(budget.used),
        "X-RateLimit-Resource": resource,
    }
