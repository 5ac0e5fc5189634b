"""Agent Workbench: every rule of the product lives in this package (no Streamlit here).

The thread API in the seed's shape:

    from workbench import create_thread, continue_thread, get_thread_messages
    thread, handle = create_thread(group_id, agent_id, person_id, initial_message="Hi")
    for delta in handle.text_stream(): print(delta, end="")
    result = handle.wait()                      # RunResult(status, reply, error, run_id)
    handle = continue_thread(thread.id, "And then?", person_id)
    page = get_thread_messages(thread.id, limit=50, before=None, actor_id=person_id)
"""

from .runs import cancel_run, continue_thread, create_thread, retry_last
from .threads import (archive_thread, get_thread, get_thread_messages, list_threads, rename_thread,
                      unarchive_thread)

__all__ = ["create_thread", "continue_thread", "get_thread_messages", "archive_thread",
           "unarchive_thread", "list_threads", "get_thread", "rename_thread", "cancel_run", "retry_last"]
