"""Integrations with the gateways and servers LLM APIs already run: LiteLLM's Generic Guardrail
API (on the sidecar), an in-process LiteLLM guardrail
(``intent_guard.integrations.litellm_guardrail.IntentGuardrail``, imported by the proxy itself:
it needs LiteLLM, so it is not imported here) and an ASGI middleware for OpenAI-compatible Python
servers.

Every integration maps the caller's identity (key, user, team, org) into the request, scores it
with the Guard, and acts on the account-level decision. The caller sees only a generic refusal
and a reference id; the verdict and its reasons go to the operator's log, under that id.
"""

from .asgi import IntentGuardMiddleware
from .identity import Identity, refusal_message

__all__ = ["Identity", "IntentGuardMiddleware", "refusal_message"]
