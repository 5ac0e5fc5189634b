"""Threads: a person's conversations with an agent and their messages, stored in order
(`seq`), newest activity first. Storing only: a message that starts a run is `runs`.

    store  open_thread, get_thread, list_threads, count_threads, rename_thread, archive_thread,
           unarchive_thread, get_thread_messages (pages, newest first), thread_titles; for the
           layers above: load_thread (access-checked), append_message, set_thread_fields,
           recent_messages, validate_message, title_from

May use: tenancy, the core."""

from .store import (MessagePage, append_message, archive_thread, count_threads, get_thread, get_thread_messages,
                    list_threads, load_thread, open_thread, rename_thread, thread_titles, unarchive_thread)

__all__ = ["MessagePage", "append_message", "archive_thread", "count_threads", "get_thread",
           "get_thread_messages", "list_threads", "load_thread", "open_thread", "rename_thread", "thread_titles",
           "unarchive_thread"]
