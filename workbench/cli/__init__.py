"""The terminal: `python -m workbench COMMAND` (agents, chat, threads, show, compare, replay,
eval, tools, export-agents, import-agents, demo). A thin face over the services, as the views
are: it parses arguments, calls one service per command and prints the result; errors are
one plain line and exit status 1.

May use: every package below it (demo, system, runs, ...)."""

from .commands import main

__all__ = ["main"]
