"""Group API keys. A key is shown once, when made; only its SHA-256 and a public prefix are
stored (the prefix finds the row, the digests are compared in constant time). Each key acts
through a person of its own, a member of the group with the key's role (editor or viewer), so
every service's access check applies to it as to anyone; revoking the key ends that
membership, and the key stops working at the next request."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from .. import events
from ..db import session_scope
from ..errors import InvalidApiKey, NotFound, ValidationError
from ..models import ApiKey, Connection, Person, utcnow
from ..tenancy.access import MEMBER_OF, ROLES, require_access

KEY_ROLES = ("editor", "viewer")  # a key never administers its group
SCHEME = "wb"  # keys read wb_<prefix>_<secret>
_ALPHABET = string.ascii_lowercase + string.digits
MAX_NAME_CHARS = 60
LAST_USED_EVERY = timedelta(seconds=60)  # last_used_at is refreshed at most this often


class ApiKeyNotFound(NotFound):
    default_message = "That API key does not exist."


@dataclass(frozen=True)
class KeyInfo:
    id: int
    group_id: int
    person_id: int
    name: str
    prefix: str  # "wb_k3x9q2m1": shown in lists so people can tell keys apart
    role: str
    created_at: datetime
    created_by: str | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class NewKey:
    info: KeyInfo
    secret: str  # the key itself: shown to its maker once, stored nowhere


@dataclass(frozen=True)
class KeyIdentity:
    """Who a request's key acts as."""

    key_id: int
    group_id: int
    person_id: int
    role: str
    name: str


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _info(key: ApiKey, maker: str | None) -> KeyInfo:
    return KeyInfo(key.id, key.group_id, key.person_id, key.name, key.prefix, key.role, key.created_at, maker,
                   key.last_used_at, key.revoked_at)


def _validate(name: str, role: str) -> tuple[str, str]:
    name = " ".join((name or "").split())
    errors = {}
    if not name:
        errors["name"] = "Give the key a name that says who uses it (for example: website chat)."
    elif len(name) > MAX_NAME_CHARS:
        errors["name"] = f"At most {MAX_NAME_CHARS} characters."
    if role not in KEY_ROLES:
        errors["role"] = f"A key's role is {' or '.join(KEY_ROLES)}."
    if errors:
        raise ValidationError(field_errors=errors)
    return name, role


def create_key(actor_id: int, group_id: int, name: str, role: str = "editor") -> NewKey:
    """A new key for the group (editors and owners). The returned secret is the only copy."""
    name, role = _validate(name, role)
    with session_scope() as s:
        member = require_access(s, actor_id, group_id, "editor")
        if ROLES[role] > ROLES[member.role]:  # cannot happen with KEY_ROLES; kept for new roles
            raise ValidationError(field_errors={"role": "A key cannot have more rights than its maker."})
        taken = s.scalar(select(ApiKey.id).where(ApiKey.group_id == group_id, ApiKey.name == name,
                                                 ApiKey.revoked_at.is_(None)).limit(1))
        if taken is not None:
            raise ValidationError(field_errors={"name": f"An active key named {name!r} exists; pick another name."})
        prefix = f"{SCHEME}_" + "".join(secrets.choice(_ALPHABET) for _ in range(10))
        secret = f"{prefix}_{secrets.token_urlsafe(32)}"
        person = Person(name=f"{name} (API key)"[:200], email=None)
        s.add(person)
        s.flush()
        s.add(Connection(group_id=group_id, type=MEMBER_OF, source_type="person", source_id=person.id,
                         target_type="group", target_id=group_id, role=role, data={"api_key": True}))
        key = ApiKey(group_id=group_id, person_id=person.id, name=name, prefix=prefix, key_hash=digest(secret),
                     role=role, created_by=actor_id, created_at=utcnow())
        s.add(key)
        s.flush()
        events.record(s, "api_key_created", group_id=group_id, actor_id=actor_id, target_type="api_key",
                      target_id=key.id, data={"name": name, "prefix": prefix, "role": role})
        maker = s.get(Person, actor_id)
        return NewKey(_info(key, maker.name if maker else None), secret)


def list_keys(actor_id: int, group_id: int, *, include_revoked: bool = True) -> list[KeyInfo]:
    """The group's keys, active first, newest first (never the keys themselves)."""
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        q = (select(ApiKey, Person.name).outerjoin(Person, Person.id == ApiKey.created_by)
             .where(ApiKey.group_id == group_id))
        if not include_revoked:
            q = q.where(ApiKey.revoked_at.is_(None))
        rows = s.execute(q.order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id.desc()))
        return [_info(k, maker) for k, maker in rows]


def key_names(s: Session, group_id: int) -> dict[int, str]:
    """{person id: key name} of the group's keys (revoked too), to label what keys did."""
    return dict(s.execute(select(ApiKey.person_id, ApiKey.name).where(ApiKey.group_id == group_id)).all())


def key_person_names(actor_id: int, group_id: int) -> dict[int, str]:
    """`key_names` after the access check: {person id: key name} of the group's keys (revoked
    too), so a page can mark what a key did (threads, runs) with the key's name."""
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        return key_names(s, group_id)


def revoke_key(actor_id: int, key_id: int) -> KeyInfo:
    """Stop the key at once (editors and owners of its group). Its threads and traces stay."""
    with session_scope() as s:
        key = s.get(ApiKey, key_id) if isinstance(key_id, int) else None
        if key is None:
            raise ApiKeyNotFound(f"There is no API key {key_id}.")
        require_access(s, actor_id, key.group_id, "editor")
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            s.execute(delete(Connection).where(Connection.type == MEMBER_OF, Connection.source_type == "person",
                                               Connection.source_id == key.person_id))
            events.record(s, "api_key_revoked", group_id=key.group_id, actor_id=actor_id, target_type="api_key",
                          target_id=key.id, data={"name": key.name, "prefix": key.prefix})
        maker = s.get(Person, key.created_by) if key.created_by else None
        return _info(key, maker.name if maker else None)


_keys = ApiKey.__table__
_BY_PREFIX = select(_keys.c.id, _keys.c.group_id, _keys.c.person_id, _keys.c.role, _keys.c.name,
                    _keys.c.key_hash, _keys.c.revoked_at, _keys.c.last_used_at).where(
    _keys.c.prefix == bindparam("prefix"))
_TOUCH = update(_keys).where(_keys.c.id == bindparam("key_id")).values(last_used_at=bindparam("now"))


def authenticate(secret: str | None) -> KeyIdentity:
    """The identity of an API key, or InvalidApiKey (missing, malformed, unknown, revoked):
    one sentence for all, so a caller learns nothing about which."""
    scheme, _, rest = (secret or "").partition("_")
    short, _, _ = rest.partition("_")
    if scheme != SCHEME or len(short) != 10:
        raise InvalidApiKey()
    prefix = f"{SCHEME}_{short}"
    with session_scope() as s:
        row = s.execute(_BY_PREFIX, {"prefix": prefix}).first()
        # Compared even when no row matched, so a miss costs what a hit costs.
        matches = hmac.compare_digest(digest(secret), row.key_hash if row else "0" * 64)
        if row is None or not matches or row.revoked_at is not None:
            raise InvalidApiKey()
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
            s.execute(_TOUCH, {"key_id": row.id, "now": now})
        return KeyIdentity(row.id, row.group_id, row.person_id, row.role, row.name)
