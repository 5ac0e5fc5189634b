"""Groups: your groups, the current group's members and roles, create / rename / leave.
A view only: every action is one call into workbench.tenancy (and system.workspace for a new group), which checks the role."""

import streamlit as st

from ui.common import current, field_error, fmt_time, show_error, switch_group
from workbench import clock
from workbench.errors import WorkbenchError
from workbench.system import workspace
from workbench.tenancy import access, groups

ctx = current()  # no require_group: a person without a group creates their first one here
ss = st.session_state

st.title("Groups")
st.caption("Each group is a separate workspace: its agents, threads, knowledge, traces and "
           "usage are visible to its members only.")

for kind, text in ss.pop("groups_flash", []):
    getattr(st, kind)(text)


def done(message: str, group_id: int | None = None) -> None:
    """After a successful action: remember the message, switch group if asked, rerun."""
    ss["groups_flash"] = [("success", message)]
    if group_id is not None:
        switch_group(group_id)
    st.rerun()


def report(err: WorkbenchError, slots: dict) -> None:
    """Field errors next to their fields (in the placeholders `slots`), anything else on top."""
    fields = getattr(err, "field_errors", {}) or {}
    if fields and set(fields) <= set(slots):
        for field, slot in slots.items():
            with slot:
                field_error(err, field)
    else:
        show_error(err)


def person_label(person, role: str | None = None) -> str:
    you = " (you)" if person.id == ctx.person_id else ""
    email = f" <{person.email}>" if person.email else ""
    return f"{person.name}{email}{you}" + (f" · {role}" if role else "")


def plan_label(plan: str) -> str:
    limits = groups.PLANS[plan]
    budget = limits["monthly_budget_usd"]
    rpm = limits["rpm_limit"]
    return (f"{plan} · " + ("no budget limit" if budget is None else f"${budget:,.0f}/month budget")
            + ("" if rpm is None else f", {rpm} runs/minute"))


mine = groups.list_my_groups(ctx.person_id)

# --- the current group ----------------------------------------------------------------

if ctx.group_id:
    group = next(g for g, _ in mine if g.id == ctx.group_id)
    st.header(group.name)
    budget = ("no budget limit" if group.monthly_budget_usd is None
              else f"budget ${group.monthly_budget_usd:,.2f}/month")
    st.caption(f"Plan **{group.plan}** · {budget} · months and days in "
               f"**{group.time_zone or clock.UTC_NAME}** · created {fmt_time(group.created_at)} · "
               f"you are **{ctx.role}**: {access.ROLE_HELP[ctx.role]}.")

    try:
        members = groups.list_members(ctx.person_id, ctx.group_id)
    except WorkbenchError as err:
        show_error(err)
        st.stop()

    st.subheader(f"Members ({len(members)})")
    st.dataframe(
        [{"Name": p.name + (" (you)" if p.id == ctx.person_id else ""), "E-mail": p.email or "",
          "Role": r} for p, r in members],
        hide_index=True, width="stretch")
    with st.expander("What the roles may do"):
        for role, text in access.ROLE_HELP.items():
            st.markdown(f"- **{role}**: {text}")

    if ctx.is_owner:
        col_add, col_change = st.columns(2)
        with col_add, st.form("add_member", clear_on_submit=True):
            st.markdown("**Add a member**")
            email = st.text_input("E-mail", placeholder="name@example.com", key="add_member_email")
            email_slot = st.empty()
            name = st.text_input("Name (optional)", help="Used until they first log in.",
                                 key="add_member_name")
            role = st.selectbox("Role", list(access.ROLES), index=1, key="add_member_role",
                                format_func=lambda r: f"{r}: {access.ROLE_HELP[r]}")
            role_slot = st.empty()
            if st.form_submit_button("Add member", type="primary"):
                try:
                    person = groups.add_member(ctx.person_id, ctx.group_id, email=email, name=name,
                                               role=role)
                    done(f"{person.name} is now {role} of {group.name}.")
                except WorkbenchError as err:
                    report(err, {"email": email_slot, "role": role_slot})

        by_id = {p.id: (p, r) for p, r in members}
        with col_change, st.form("change_member"):
            st.markdown("**Change a member**")
            who = st.selectbox("Member", list(by_id), format_func=lambda i: person_label(*by_id[i]),
                               key="change_member_who")
            new_role = st.selectbox("New role", list(access.ROLES), key="change_member_role")
            c1, c2 = st.columns(2)
            change = c1.form_submit_button("Change role")
            remove = c2.form_submit_button("Remove from group")
            confirm = st.checkbox("Yes, remove them", key="change_member_confirm",
                                  help="Removing takes away their access at once.")
            if change:
                try:
                    groups.change_role(ctx.person_id, ctx.group_id, who, new_role)
                    done(f"{by_id[who][0].name} is now {new_role}.")
                except WorkbenchError as err:
                    show_error(err)
            if remove:
                if not confirm:
                    st.warning("Tick “Yes, remove them” to confirm.")
                else:
                    try:
                        groups.remove_member(ctx.person_id, ctx.group_id, who)
                        done(f"{by_id[who][0].name} was removed from {group.name}.")
                    except WorkbenchError as err:
                        show_error(err)

        with st.form("rename_group"):
            st.markdown("**Rename this group**")
            new_name = st.text_input("Group name", value=group.name, key="rename_group_name")
            rename_slot = st.empty()
            if st.form_submit_button("Rename"):
                try:
                    renamed = groups.rename_group(ctx.person_id, ctx.group_id, new_name)
                    done(f"Renamed to {renamed.name}.")
                except WorkbenchError as err:
                    report(err, {"name": rename_slot})

        with st.form("group_time_zone"):
            st.markdown("**Time zone**")
            st.caption("The group's months and days (the monthly budget, the Usage page's "
                       "Today and Month to date) are counted in this zone. Stored times stay UTC.")
            zones = clock.zone_names()
            current_zone = group.time_zone or clock.UTC_NAME
            picked_zone = st.selectbox("Time zone", zones, key="group_time_zone",
                                       index=zones.index(current_zone) if current_zone in zones else 0)
            zone_slot = st.empty()
            if st.form_submit_button("Save time zone"):
                try:
                    groups.set_time_zone(ctx.person_id, ctx.group_id, picked_zone)
                    done(f"Months and days are now counted in {picked_zone}.")
                except WorkbenchError as err:
                    report(err, {"time_zone": zone_slot})
    else:
        st.info("Only owners add or remove members, change roles, rename the group and set its "
                "time zone.")

    with st.expander("Leave this group"):
        st.write(f"You lose access to everything in **{group.name}** at once; an owner can add "
                 "you again.")
        sure = st.checkbox("I want to leave", key="leave_confirm")
        if st.button("Leave group", disabled=not sure, key="leave_group"):
            try:
                groups.leave_group(ctx.person_id, ctx.group_id)
                others = [g.id for g, _ in mine if g.id != ctx.group_id]
                ss.pop("group_id", None)
                done(f"You left {group.name}.", others[0] if others else None)
            except WorkbenchError as err:
                show_error(err)

# --- all my groups --------------------------------------------------------------------

if mine:
    st.subheader("Your groups")
    st.dataframe([{"Group": g.name, "Your role": r, "Plan": g.plan,
                   "Current": "✓" if g.id == ctx.group_id else ""} for g, r in mine],
                 hide_index=True, width="stretch")
    others = [(g, r) for g, r in mine if g.id != ctx.group_id]
    if others:
        labels = {g.id: f"{g.name} · {r}" for g, r in others}
        c1, c2 = st.columns([3, 1])
        target = c1.selectbox("Switch to", list(labels), format_func=labels.get, key="switch_to")
        if c2.button("Switch", key="switch_group"):
            done(f"Switched to {labels[target]}.", target)

# --- create ---------------------------------------------------------------------------

with st.form("create_group", clear_on_submit=True):
    st.subheader("Create a group")
    st.caption("You become its owner. It starts with the built-in offline model, so it can "
               "chat at once.")
    name = st.text_input("Group name", key="create_group_name")
    name_slot = st.empty()
    plan = st.selectbox("Plan", list(groups.PLANS), key="create_group_plan", format_func=plan_label)
    plan_slot = st.empty()
    if st.form_submit_button("Create group", type="primary"):
        try:
            created = workspace.create_group(ctx.person_id, name, plan)
            done(f"Created {created.name}; it is now your current group.", created.id)
        except WorkbenchError as err:
            report(err, {"name": name_slot, "plan": plan_slot})
