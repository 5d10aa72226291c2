"""LiteLLM keeps the `openai` clients it makes in a module-level cache, so their sockets to
the mock stay open until the interpreter ends and are reported unclosed then. A test module
that calls LiteLLM closes them when its tests are done (a module-scoped fixture)."""

from __future__ import annotations

import litellm
import openai


def close_litellm_clients() -> None:
    cache = litellm.in_memory_llm_clients_cache
    for made in list(cache.cache_dict.values()):
        if isinstance(made, openai.OpenAI):  # AzureOpenAI too; the sync calls make no others
            made.close()
    cache.flush_cache()  # type: ignore[no-untyped-call]  # (LiteLLM does not type it)
