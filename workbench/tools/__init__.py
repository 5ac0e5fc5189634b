"""Tools an agent may call: the built-ins and a group's own, and what they leave behind.

    registry          ToolContext (the run a call acts in), register, builtin_tools(),
                      tool_names(), bind_tools(ctx, allowed), openai_schemas(tools)
    builtin           create_task, get_context, call_human (they register on import)
    search_knowledge  search_knowledge (the group's knowledge base, with scores)
    tasks             the Tasks page: list_tasks, set_task_status, open_escalations,
                      answer_as_human (a person answers in the thread as the human agent)
    custom/           a group's own tools (mock, HTTP, MCP): definitions, versions, running

Importing this package registers the built-ins, so `builtin_tools()` is complete wherever it is
called. May use: knowledge, threads, tenancy, the core. Modules, arrows down:
(builtin, search_knowledge) -> registry; tasks -> threads; custom -> registry."""

from . import builtin, search_knowledge  # noqa: F401 - each registers its built-in tools
