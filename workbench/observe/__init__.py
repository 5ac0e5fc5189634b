"""Observe: reading what happened, access-checked. Recording is below (a run writes its steps,
`workbench.events.record` writes an event in the caller's transaction); this package reads.

    traces     list_runs (filters, sort, pages), run_filter_options, get_run_trace (steps,
               messages, events, usage), run_versions, run_status
    export     export_run_json / load_run_export (one run, read back into the same RunTrace),
               export_runs_csv, export_runs_json (a filtered list)
    event_log  list_events (cursor pages), event_types, event_actors, count_events,
               export_events_csv, export_events_json

May use: tools (tool names for filters), tenancy, the core. Modules: export -> traces."""
