"""The installation: first start and every start, new workspaces, and the installation's
status (the Settings page). Sits above tenancy, providers and runs, never below them.

    bootstrap  init_app (migrate, recover interrupted runs, seed prices, the local person,
               default group and demo agent; start the stale-run sweep), local_person_id
    workspace  create_group: a new group with its built-in provider, so it can chat at once
    status     provider_statuses, builtin_model, database_location, check_database,
               check_knowledge_store, library_versions, log_destination, tool_policy

May use: runs, costs, agents, providers, knowledge, tenancy, the core."""
