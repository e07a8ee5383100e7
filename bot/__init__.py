"""ztbot: Zero Trust for GitHub Actions across an organization."""

__version__ = "0.1.0"
