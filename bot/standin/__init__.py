"""A faithful stand-in GitHub (REST, GraphQL, git smart HTTP) for tests and the demo."""

from bot.standin.faults import Fault
from bot.standin.gitstore import Author
from bot.standin.server import RequestRecord, StandIn

__all__ = ["Author", "Fault", "RequestRecord", "StandIn"]
