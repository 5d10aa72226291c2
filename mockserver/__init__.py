"""mockserver: a faithful local mock of the Azure OpenAI API serving o3-mini."""

from mockserver.version import __version__

__all__ = ["__version__"]
