"""The group's configured providers (endpoints): add, edit, test, list models."""

from __future__ import annotations

from sqlalchemy import select

from .. import events
from ..db import session_scope
from ..errors import ConflictError, ProviderNotFound, ValidationError
from ..models import ProviderRecord
from ..tenancy.access import require_access
from . import build_provider, config_from_record, default_model as _default_model, embedded_server
from .builtin_model import describe_configured
from .presets import LOCAL_PRESET, PRESETS


def add_builtin_provider(s, group_id: int) -> ProviderRecord:
    """A new group's first provider, the built-in offline model, in the caller's transaction."""
    rec = ProviderRecord(group_id=group_id, name="Built-in (offline)", kind="local", preset=LOCAL_PRESET)
    s.add(rec)
    s.flush()
    return rec


def list_providers(actor_id: int, group_id: int) -> list[ProviderRecord]:
    with session_scope() as s:
        require_access(s, actor_id, group_id)
        return list(s.scalars(select(ProviderRecord).where(ProviderRecord.group_id == group_id)
                              .order_by(ProviderRecord.id)))


def get_provider(actor_id: int, provider_id: int) -> ProviderRecord:
    with session_scope() as s:
        rec = s.get(ProviderRecord, provider_id) if isinstance(provider_id, int) else None
        if rec is None:
            raise ProviderNotFound()
        require_access(s, actor_id, rec.group_id)
        return rec


def _validate(name: str, base_url: str | None, kind: str, api_key_name: str | None,
              default_model: str | None = None) -> dict:
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "A provider needs a name."
    for field, value in (("name", name), ("base_url", base_url), ("api_key_name", api_key_name),
                         ("default_model", default_model)):
        limit = getattr(ProviderRecord, field).type.length  # PostgreSQL refuses longer values
        if value and len(value.strip()) > limit:
            errors[field] = f"At most {limit} characters."
    if kind not in ("openai_compatible", "local"):
        errors["kind"] = "Kind must be openai_compatible or local."
    base_url = (base_url or "").strip() or None
    if kind == "openai_compatible" and not (base_url and base_url.startswith(("http://", "https://"))):
        errors["base_url"] = "Enter the endpoint's base URL, starting with http:// or https://."
    key_name = (api_key_name or "").strip() or None
    if key_name and (not key_name.replace("_", "").isalnum() or key_name.startswith(("sk-", "sk_"))):
        errors["api_key_name"] = ("Enter the NAME of the environment variable or secret that holds "
                                  "the key (like OPENAI_API_KEY), never the key itself.")
    if errors:
        raise ValidationError(field_errors=errors)
    return {"name": name, "base_url": base_url, "kind": kind, "api_key_name": key_name}


def add_provider(actor_id: int, group_id: int, *, name: str, preset: str | None = None,
                 base_url: str | None = None, api_key_name: str | None = None,
                 default_model: str | None = None, kind: str | None = None) -> ProviderRecord:
    """Add an endpoint, from a preset (its values are defaults) or by hand."""
    base = PRESETS.get(preset or "", {})
    fields = _validate(name, base_url or base.get("base_url"), kind or base.get("kind", "openai_compatible"),
                       api_key_name if api_key_name is not None else base.get("api_key_name"), default_model)
    with session_scope() as s:
        require_access(s, actor_id, group_id, "editor")
        if s.scalar(select(ProviderRecord).where(ProviderRecord.group_id == group_id,
                                                 ProviderRecord.name == fields["name"])):
            raise ConflictError(f"A provider named {fields['name']!r} already exists in this group.")
        rec = ProviderRecord(group_id=group_id, preset=preset,
                             default_model=(default_model or base.get("default_model")), **fields)
        s.add(rec)
        s.flush()
        events.record(s, "provider_added", group_id=group_id, actor_id=actor_id, target_type="provider",
                      target_id=rec.id, data={"name": rec.name, "preset": preset, "base_url": rec.base_url,
                                              "api_key_name": rec.api_key_name})
        return rec


def update_provider(actor_id: int, provider_id: int, **values) -> ProviderRecord:
    with session_scope() as s:
        rec = s.get(ProviderRecord, provider_id) if isinstance(provider_id, int) else None
        if rec is None:
            raise ProviderNotFound()
        require_access(s, actor_id, rec.group_id, "editor")
        fields = _validate(values.get("name", rec.name), values.get("base_url", rec.base_url), rec.kind,
                           values.get("api_key_name", rec.api_key_name), values.get("default_model"))
        for key, value in fields.items():
            setattr(rec, key, value)
        if "default_model" in values:
            rec.default_model = (values["default_model"] or "").strip() or None
        events.record(s, "provider_updated", group_id=rec.group_id, actor_id=actor_id,
                      target_type="provider", target_id=rec.id, data={"fields": sorted(values)})
        return rec


def _editable_provider(actor_id: int, provider_id: int) -> ProviderRecord:
    # Calling an endpoint spends the group's key: editors only, not viewers.
    with session_scope() as s:
        rec = s.get(ProviderRecord, provider_id) if isinstance(provider_id, int) else None
        if rec is None:
            raise ProviderNotFound()
        require_access(s, actor_id, rec.group_id, "editor")
        return rec


def test_connection(actor_id: int, provider_id: int) -> str:
    """Reach the endpoint once: a sentence on success, a ProviderError otherwise."""
    return build_provider(config_from_record(_editable_provider(actor_id, provider_id))).check_connection()


def starting_model(rec: ProviderRecord) -> str | None:
    """The model a new agent on `rec` starts with (the built-in provider's: the one it runs)."""
    return _default_model(rec)


def list_models(actor_id: int, provider_id: int) -> list[str]:
    return build_provider(config_from_record(_editable_provider(actor_id, provider_id))).list_models()


def builtin_model_status() -> str:
    """Which GGUF the built-in provider runs (and how, once loaded), for the Agents page.
    Never loads or hashes anything."""
    running = embedded_server.running()
    if running is None:
        return f"{describe_configured()} · loads on first use"
    return (f"{running.file.label} · `{running.file.path}` · loaded in {running.load_s:.1f} s · "
            f"{running.slots} chats at once, {running.slot_context:,} tokens each")
