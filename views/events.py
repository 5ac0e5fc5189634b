"""Events: the group's log of everything that happened (who did what to which thing, and
when), filterable by type, actor, time and text in the metadata, paged with keyset cursors
so it stays fast at millions of events, and exportable as CSV or JSON."""

import json
from datetime import datetime, time, timedelta

import streamlit as st

from ui.common import current, field_error, require_group, show_error
from workbench.errors import ValidationError, WorkbenchError
from workbench.observe import event_log
from workbench.observe.event_log import EventFilters

ctx = current()
require_group(ctx)

st.title("Events")
st.caption("Everything that happened in this group, newest first. Times are UTC.")

try:
    types = event_log.event_types(ctx.person_id, ctx.group_id)
    actors = dict(event_log.event_actors(ctx.person_id, ctx.group_id))
except WorkbenchError as err:
    show_error(err)
    st.stop()

with st.container(border=True):
    c = st.columns([3, 2, 2])
    chosen_types = c[0].multiselect("Type", types, key="ev_types", placeholder="Any type")
    actor = c[1].selectbox("Actor", [None, *actors], key="ev_actor",
                           format_func=lambda a: "Anyone" if a is None else actors[a])
    days = c[2].date_input("Between", value=(), key="ev_days", help="UTC dates: a start and an end day.")
    c = st.columns([5, 1])
    search = c[0].text_input("Search metadata", key="ev_text", placeholder="e.g. create_task, 500, a title…")
    size = c[1].selectbox("Per page", [25, 50, 100, 200], index=1, key="ev_size")

since = until = None
if isinstance(days, (tuple, list)) and days:
    since = datetime.combine(days[0], time.min)
    until = datetime.combine(days[-1], time.min) + timedelta(days=1)
filters = EventFilters(types=tuple(chosen_types), actor=actor, since=since, until=until,
                       text=search.strip() or None)

# Keyset paging state: ("before"|"after", cursor) and a page number for the caption; both
# start over whenever the filters change.
signature = (filters, size)
if st.session_state.get("ev_signature") != signature:
    st.session_state["ev_signature"] = signature
    st.session_state["ev_cursor"] = None
    st.session_state["ev_page_no"] = 1


def _go(direction: str | None, cursor: str | None, step: int) -> None:
    st.session_state["ev_cursor"] = (direction, cursor) if direction else None
    st.session_state["ev_page_no"] = 1 if direction is None else max(1, st.session_state["ev_page_no"] + step)


cursor = st.session_state.get("ev_cursor")
error = None
try:
    page = event_log.list_events(ctx.person_id, ctx.group_id, filters, limit=size,
                                 before=cursor[1] if cursor and cursor[0] == "before" else None,
                                 after=cursor[1] if cursor and cursor[0] == "after" else None)
except ValidationError as err:
    error, page = err, None
    if "cursor" in err.field_errors:
        _go(None, None, 0)
except WorkbenchError as err:
    show_error(err)
    st.stop()

field_error(error, "text")
if error is not None and "text" not in error.field_errors:
    show_error(error)
if page is not None:
    if page.window_exhausted:
        st.info(f"A text search looks through {event_log.SEARCH_WINDOW:,} events at a time; "
                "these are the matches among the most recent ones. Press **Older** to search further back.")
    if not page.events:
        st.info("No events match these filters." if cursor is None else "No more events here.")
    else:
        rows = [{"time": e.created_at, "type": e.type, "actor": e.actor_name,
                 "target": e.target, "metadata": json.dumps(e.data, ensure_ascii=False, sort_keys=True),
                 "id": e.id} for e in page.events]
        picked = st.dataframe(
            rows, hide_index=True, width="stretch", key="ev_table", on_select="rerun",
            selection_mode="single-row",
            column_config={
                "time": st.column_config.DatetimeColumn("Time (UTC)", format="YYYY-MM-DD HH:mm:ss.SSS"),
                "type": st.column_config.TextColumn("Type"),
                "actor": st.column_config.TextColumn("Actor"),
                "target": st.column_config.TextColumn("Target"),
                "metadata": st.column_config.TextColumn("Metadata", width="large"),
                "id": st.column_config.NumberColumn("Id", format="%d", width="small"),
            })
        selection = picked.selection.rows if picked is not None and hasattr(picked, "selection") else []
        if selection:
            event = page.events[selection[0]]
            st.caption(f"Event #{event.id} · {event.type} · {event.actor_name} · {event.target}")
            st.json(event.data)

    nav = st.container(horizontal=True, vertical_alignment="center")
    nav.button("Newest", key="ev_newest", icon=":material/first_page:", on_click=_go,
                args=(None, None, 0), disabled=cursor is None)
    nav.button("Newer", key="ev_newer", icon=":material/chevron_left:", on_click=_go,
                args=("after", page.newer_cursor, -1), disabled=not page.newer_cursor)
    nav.button("Older", key="ev_older", icon=":material/chevron_right:", on_click=_go,
                args=("before", page.older_cursor, 1), disabled=not page.older_cursor)
    nav.caption(f"Page {st.session_state['ev_page_no']} · {len(page.events)} events")

st.divider()
row = st.container(horizontal=True, vertical_alignment="center")
row.download_button(
    "Events as CSV", key="ev_csv", icon=":material/download:", mime="text/csv", file_name="events.csv",
    on_click="ignore", data=lambda: event_log.export_events_csv(ctx.person_id, ctx.group_id, filters))
row.download_button(
    "Events as JSON", key="ev_json", icon=":material/download:", mime="application/json",
    file_name="events.json", on_click="ignore",
    data=lambda: event_log.export_events_json(ctx.person_id, ctx.group_id, filters))
row.caption(f"Exports hold every event matching the filters (at most {event_log.EXPORT_MAX_ROWS:,}).")
