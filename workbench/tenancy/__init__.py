"""Tenancy: groups (tenants), people, membership and roles, the login identity, and the one
access check every service calls first.

    access    require_access(session, person_id, group_id, role) -> Membership (or AccessDenied,
              recorded as an `access_denied` event), load_group, ROLES, MEMBER_OF
    people    get_or_create_person, get_person (yourself or someone sharing a group),
              find_person_by_email, normalise_email, caller_condition (the app's people, or
              an API key: each key acts through a person of its own)
    groups    create_group_in_session, rename_group, set_time_zone, get_group, list_my_groups,
              my_role, list_members, add_member, change_role, remove_member, leave_group, PLANS
    identity  person_for_login (the person behind an OpenID Connect login)

A new group with its built-in provider is `system.workspace.create_group`: tenancy never
depends on providers or runs. May use: the core (settings, db, errors, clock, events, models).
Modules, arrows down: identity -> people -> access; groups -> (people, access)."""
