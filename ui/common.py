"""What every page needs: start-up, who is acting, the current group, error display."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from workbench.errors import ValidationError, WorkbenchError
from workbench.system import bootstrap
from workbench.tenancy import groups, identity


def _startup() -> bootstrap.Startup:
    # Idempotent and cached per database inside the package (not st.cache_resource, which
    # would keep the first database's answer when settings point somewhere new).
    return bootstrap.init_app()


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets.toml at all
        return False


@dataclass(frozen=True)
class PageContext:
    person_id: int
    group_id: int
    role: str
    group_name: str

    @property
    def can_edit(self) -> bool:
        return self.role in ("editor", "owner")

    @property
    def is_owner(self) -> bool:
        return self.role == "owner"


def _resolve_person() -> int | None:
    """The acting person: the OIDC user matched by e-mail when login is configured,
    else the local person from settings (single-user mode)."""
    startup = _startup()
    if not oidc_configured():
        return st.session_state.setdefault("person_id", startup.person_id)
    if not getattr(st.user, "is_logged_in", False):
        return None
    if "person_id" not in st.session_state:
        try:
            st.session_state["person_id"] = identity.person_for_login(
                email=st.user.get("email"), name=st.user.get("name") or "",
                email_verified=st.user.get("email_verified"), provider=st.user.get("iss"))
        except WorkbenchError as err:
            show_error(err)
            if st.button("Log out"):
                st.logout()
            st.stop()
    return st.session_state["person_id"]


def _login_providers() -> list[str | None]:
    """Named providers ([auth.google], [auth.microsoft], ...) or [None] for the single
    provider configured directly under [auth]."""
    try:
        auth = st.secrets["auth"]
        named = [k for k, v in auth.items() if hasattr(v, "get") and v.get("client_id")]
    except Exception:  # noqa: BLE001 - malformed secrets: let st.login report it
        named = []
    return named or [None]


def login_gate() -> None:
    st.title("Agent Workbench")
    st.write("Sign in to continue.")
    for provider in _login_providers():
        label = f"Log in with {provider.title()}" if provider else "Log in"
        if st.button(label, type="primary", key=f"login_{provider or 'default'}"):
            if provider:
                st.login(provider)
            else:
                st.login()
    st.stop()


def current() -> PageContext:
    """Person and group for this page; stops the page with a message when there is none."""
    person_id = _resolve_person()
    if person_id is None:
        login_gate()
    mine = groups.list_my_groups(person_id)
    if not mine:
        st.info("You are not a member of any group yet. Create one on the Groups page, or ask "
                "an owner to add you.")
        st.session_state.pop("group_id", None)
        return PageContext(person_id, 0, "none", "")
    ids = [g.id for g, _ in mine]
    chosen = st.session_state.get("group_id")
    if chosen not in ids:
        remembered = st.query_params.get("group")
        fallback = int(remembered) if remembered and remembered.isdigit() and int(remembered) in ids else ids[0]
        if chosen is not None:  # left or removed from the group: its selections go too
            switch_group(fallback)
        else:
            st.session_state["group_id"] = fallback
        chosen = fallback
    group, role = next((g, r) for g, r in mine if g.id == chosen)
    return PageContext(person_id, group.id, role, group.name)


def require_group(ctx: PageContext) -> None:
    if ctx.group_id == 0:
        st.stop()


def group_picker(ctx: PageContext) -> None:
    """Sidebar picker of the person's groups; the choice is remembered in the URL
    (?group=<id>) so a reload or a shared link opens the same group."""
    if oidc_configured() and st.sidebar.button("Log out", key="logout"):
        st.session_state.clear()
        st.logout()
    mine = groups.list_my_groups(ctx.person_id)
    if not mine:
        return
    labels = {g.id: f"{g.name} · {r}" for g, r in mine}
    if st.session_state.get("group_picker") != ctx.group_id:
        # The group changed elsewhere (created, left, switched on the Groups page): follow it.
        st.session_state["group_picker"] = ctx.group_id
    st.sidebar.selectbox("Group", list(labels), format_func=labels.get, key="group_picker",
                         on_change=_group_picked)
    st.query_params["group"] = str(ctx.group_id)


def _group_picked() -> None:
    switch_group(st.session_state["group_picker"])


def switch_group(group_id: int) -> None:
    """Make `group_id` the current group (the next run's current() checks membership)."""
    st.session_state["group_id"] = group_id
    for key in [k for k in st.session_state if str(k).startswith("sel_")]:
        del st.session_state[key]  # selections of the old group mean nothing in the new one
    st.query_params["group"] = str(group_id)


def flash(key: str, kind: str, text: str) -> None:
    """A one-line message ("ok" or "error") for the page's next run: set in a button callback,
    shown once by `show_flash(key)`."""
    st.session_state[key] = (kind, text)


def show_flash(key: str) -> None:
    if key in st.session_state:
        kind, text = st.session_state.pop(key)
        (st.success if kind == "ok" else st.error)(text)


def show_error(err: Exception, where=st) -> None:
    """A plain sentence for the user; field errors listed one per line."""
    if isinstance(err, ValidationError) and err.field_errors:
        where.error("\n".join(f"- **{k.replace('_', ' ')}**: {v}" for k, v in err.field_errors.items()))
    elif isinstance(err, WorkbenchError):
        where.error(err.user_message)
    else:
        where.error(f"Unexpected error: {err}")


def field_error(err: Exception | None, field: str) -> None:
    """Show the message for one form field right below it."""
    if isinstance(err, ValidationError) and field in err.field_errors:
        st.caption(f":red[{err.field_errors[field]}]")


def fmt_time(dt) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else ""


def select_default(sel_key: str, ids: list, can_edit: bool) -> None:
    """Keep a page's selection (an id, or "new") valid: the first item, else a new one for
    editors, else nothing."""
    if st.session_state.get(sel_key) not in ids + ["new"]:
        st.session_state[sel_key] = ids[0] if ids else ("new" if can_edit else None)


def item_picker(ctx: PageContext, views: list, *, sel_key: str, pick_key: str, noun: str, empty: str,
                captions: list[str]) -> None:
    """A "New <noun>" button (editors) over a radio list of the group's items, mirroring the
    selection in `sel_key` (which also changes by New, Duplicate, Delete)."""
    if ctx.can_edit:
        st.button(f"New {noun}", icon=":material/add:", type="primary", use_container_width=True,
                  key=f"{noun}_new", on_click=lambda: st.session_state.update({sel_key: "new"}))
    if not views:
        st.info(empty)
        return
    by_id = {v.id: v for v in views}
    st.session_state[pick_key] = st.session_state.get(sel_key) if st.session_state.get(sel_key) in by_id else None
    st.radio(noun.title() + "s", list(by_id), key=pick_key, label_visibility="collapsed",
             format_func=lambda i: by_id[i].name, captions=captions,
             on_change=lambda: st.session_state.update({sel_key: st.session_state[pick_key]}))
