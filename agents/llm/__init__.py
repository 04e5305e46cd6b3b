"""The model engine: any OpenAI-compatible model (OpenAI, Azure OpenAI, vLLM, Ollama) driving
the same graph as the offline engine, widening what archops understands, never what it allows.

    engine = LLMEngine.from_settings(settings)       # agents.engine.engine_from_settings picks it
    usage = request_usage()                          # while a request runs: calls, tokens, model
    usage.footer()  /  footer(event.data["llm"])     # one Markdown line for a pull request

Names are imported when first used, so that an offline worker never loads the model client.
See docs/llm.md.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "CallRecord": "agents.llm.accounting", "Usage": "agents.llm.accounting", "footer": "agents.llm.accounting",
    "request_usage": "agents.llm.accounting", "ModelClient": "agents.llm.client", "ModelError": "agents.llm.client",
    "LLMEngine": "agents.llm.engine", "RequestEngine": "agents.llm.engine", "PROMPT_VERSION": "agents.llm.prompts",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'agents.llm' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
