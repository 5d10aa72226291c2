"""The package version, apart from the front door so that any module may import it."""

__version__ = "0.1.0"
