"""mockserver: a faithful local mock of the Azure OpenAI API serving o3-mini.

    from mockserver import MockServer

`MockServer` is imported on first use (PEP 562): it brings in aiohttp and the whole server,
which `import mockserver` alone (the CLI's start, `mockserver.version`, any submodule's
package import) must not pay for, and which imports modules that import this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mockserver.version import __version__

if TYPE_CHECKING:
    from mockserver.testing.admin_client import AdminClient
    from mockserver.testing.errors import AdminError, VerificationFailedError
    from mockserver.testing.server import MockServer

__all__ = ["AdminClient", "AdminError", "MockServer", "VerificationFailedError", "__version__"]

_LAZY = {
    "MockServer": "mockserver.testing.server",
    "AdminClient": "mockserver.testing.admin_client",
    "AdminError": "mockserver.testing.errors",
    "VerificationFailedError": "mockserver.testing.errors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once found, an ordinary attribute
    return value
