"""Serving agents to products: an OpenAI-compatible API over the group's agents, and the group
API keys that authenticate it. A call is an ordinary run of the agent (tools server-side,
traced, priced, under the group's budget and rate limits) by the key's own person.

    keys      create_key (shown once), list_keys, revoke_key, authenticate, key_names,
              key_person_names (what a key did, for pages)
    requests  parse_chat_request: an OpenAI chat request checked field by field (REFUSED, IGNORED)
    calls     start_call (new thread or metadata.thread_id), list_models, thread_messages
    api       create_app: the FastAPI app (/v1/models, /v1/chat/completions, /v1/threads/{id}/messages)
    server    serve: uvicorn, one or more worker processes
    snippets  client_code: copy-ready calls of an agent (openai Python client, curl) for the Deploy page

May use: runs, agents (labels resolve `model`), threads, system (start-up), tenancy, the core.
Modules, arrows down: server -> api -> (calls -> requests, keys); snippets (imports none)."""

from .keys import KeyInfo, NewKey, authenticate, create_key, key_names, key_person_names, list_keys, revoke_key

__all__ = ["KeyInfo", "NewKey", "authenticate", "create_key", "key_names", "key_person_names", "list_keys",
           "revoke_key"]
