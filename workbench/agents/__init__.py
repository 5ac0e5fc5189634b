"""Agents: definitions (a thing of type "agent" whose every save is an immutable version),
their versions (history, diff, restore) and their export and import with the custom tools
they use.

    definitions  create_agent, update_agent, duplicate_agent, delete_agent, get_agent,
                 list_agents, get_version, load_agent, validate, provider_for, AgentConfig
    versions     list_versions, diff_versions, config_diff, restore_version
    labels       set_label, remove_label, list_labels, labels_by_agent (production, staging, ...: a name for a
                 version); resolve_agent (a reference: `12`, `12@3`, `12@production`, a name)
    transfer     export_agents, import_agents (all or nothing)

May use: tenancy, tools (the names an agent may allow), the core. Modules, arrows down:
transfer -> (versions, definitions) -> tools; labels -> versions -> definitions."""

from .definitions import (AgentConfig, AgentView, agent_names, agent_view, create_agent, delete_agent,
                          duplicate_agent, get_agent, get_version, list_agents, load_agent, provider_for,
                          update_agent, validate)
from .labels import LabelInfo, ResolvedAgent, labels_by_agent, list_labels, remove_label, resolve_agent, set_label
from .versions import config_diff, diff_versions, list_versions, restore_version

__all__ = ["AgentConfig", "AgentView", "agent_names", "agent_view", "create_agent", "delete_agent",
           "duplicate_agent", "get_agent", "get_version", "list_agents", "load_agent", "provider_for",
           "update_agent", "validate", "LabelInfo", "ResolvedAgent", "labels_by_agent", "list_labels", "remove_label", "resolve_agent",
           "set_label", "config_diff", "diff_versions", "list_versions", "restore_version"]
