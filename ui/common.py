"""What every page needs: start-up, who is acting, the current group, error display."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from workbench import bootstrap, groups
from workbench.errors import ValidationError, WorkbenchError


@st.cache_resource(show_spinner="Preparing the workbench…")
def _startup() -> bootstrap.Startup:
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
        from workbench import identity

        st.session_state["person_id"] = identity.person_for_login(
            email=st.user.get("email"), name=st.user.get("name") or "")
    return st.session_state["person_id"]


def login_gate() -> None:
    st.title("Agent Workbench")
    st.write("Sign in to continue.")
    if st.button("Log in", type="primary"):
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
        chosen = int(remembered) if remembered and remembered.isdigit() and int(remembered) in ids else ids[0]
        st.session_state["group_id"] = chosen
    group, role = next((g, r) for g, r in mine if g.id == chosen)
    return PageContext(person_id, group.id, role, group.name)


def require_group(ctx: PageContext) -> None:
    if ctx.group_id == 0:
        st.stop()


def group_picker(ctx: PageContext) -> None:
    """Sidebar picker of the person's groups; the choice is remembered in the URL."""
    mine = groups.list_my_groups(ctx.person_id)
    if not mine:
        return
    labels = {g.id: f"{g.name} · {r}" for g, r in mine}
    ids = list(labels)
    picked = st.sidebar.selectbox("Group", ids, index=ids.index(ctx.group_id) if ctx.group_id in ids else 0,
                                  format_func=labels.get, key="group_picker")
    if picked != st.session_state.get("group_id"):
        st.session_state["group_id"] = picked
        for key in [k for k in st.session_state if str(k).startswith("sel_")]:
            del st.session_state[key]  # selections of the old group mean nothing in the new one
        st.query_params["group"] = str(picked)
        st.rerun()
    st.query_params["group"] = str(picked)


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
