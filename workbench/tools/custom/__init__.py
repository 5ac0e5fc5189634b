"""Custom tools: a group's own tools beside the built-in ones. Each is a thing of type "tool"
whose every save is an immutable ToolVersion (as agents are), with one implementation:

- mock: a fixed or templated answer (`{{city}}` inserts an argument), to tune prompts first;
- http: a request to an endpoint (URL template, JSON body, headers from env var NAMES),
  guarded against private addresses (net_guard);
- mcp: chosen tools of an MCP server (stdio command or streamable HTTP), their schemas read
  from the server and stored on the version.

Agents name the tools they use (the name the model sees), so a run always uses the tool's
latest version and its trace step records which version that was.

Modules, arrows down: transfer -> service -> runner -> catalog -> definitions -> templating;
runner -> http_tool -> net_guard; runner -> mcp_tools -> (mcp_client, net_guard). Imported
MCP tools keep the schemas of the export until their server is refreshed."""

TOOL = "tool"
KINDS = ("mock", "http", "mcp")

from ...errors import NotFound, WorkbenchError  # noqa: E402 - after the constants the modules import


class ToolNotFound(NotFound):
    default_message = "That tool does not exist."


class ToolCallFailed(WorkbenchError):
    """A custom tool's call failed; the message goes back to the model (secrets redacted)."""

    default_message = "The tool call failed."


class ToolTimedOut(ToolCallFailed):
    default_message = "The tool did not answer in time."


class ToolArgumentsInvalid(ToolCallFailed):
    default_message = "The arguments do not match the tool's parameters."
