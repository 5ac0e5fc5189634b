"""Open any model call of a trace in the playground: the exact messages and settings that
were sent become an editable draft; rerunning it (as it is, or edited) is one model call of
the same agent version, shown next to the original response."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..db import session_scope
from ..errors import NotFound, ValidationError
from ..models import AgentVersion, Run, RunStep
from ..tenancy.access import require_access
from .compare import LiveComparison, start_comparison
from .variants import Variant


class StepNotFound(NotFound):
    default_message = "That model call does not exist."


@dataclass
class StepDraft:
    step_id: int
    run_id: int
    group_id: int
    agent_id: int
    version: int
    system_prompt: str
    messages: list[dict[str, Any]]  # everything after the system prompt, as sent
    settings: dict[str, Any]  # model, temperature, max_output_tokens (as sent)
    request: dict[str, Any]  # the stored request, untouched
    original: dict[str, Any] = field(default_factory=dict)  # the stored response
    original_error: dict[str, Any] | None = None

    @property
    def overrides(self) -> dict[str, Any]:
        """The settings as sent, as variant edits (only those differing from the version
        are kept when the variant is resolved)."""
        return {"system_prompt": self.system_prompt, **self.settings}


def open_step(actor_id: int, step_id: int) -> StepDraft:
    """The draft of a traced model call: its exact messages, system prompt and settings."""
    with session_scope() as s:
        step = s.get(RunStep, step_id) if isinstance(step_id, int) else None
        if step is None or step.kind != "model_call":
            raise StepNotFound(f"Step {step_id} is not a model call.")
        require_access(s, actor_id, step.group_id)
        run = s.get(Run, step.run_id)
        if run.agent_version_id is None:
            raise ValidationError("This run has no recorded agent version; it cannot be reopened.")
        version = s.get(AgentVersion, run.agent_version_id)
        request = dict(step.request or {})
        messages = [dict(m) for m in request.get("messages") or []]
        system = ""
        if messages and messages[0].get("role") == "system":
            system = messages.pop(0).get("content") or ""
        settings = {"model": request.get("model") or version.config.get("model"),
                    "temperature": request.get("temperature"),
                    "max_output_tokens": request.get("max_tokens")}
        return StepDraft(step_id=step.id, run_id=run.id, group_id=step.group_id, agent_id=run.agent_id,
                         version=version.version, system_prompt=system, messages=messages,
                         settings={k: v for k, v in settings.items() if v is not None},
                         request=request, original=dict(step.response or {}), original_error=step.error)


def rerun_step(actor_id: int, step_id: int, messages: list[dict[str, Any]] | None = None,
               overrides: dict[str, Any] | None = None) -> LiveComparison:
    """Send the traced call again, with `messages` and `overrides` (system_prompt, model,
    temperature, max_output_tokens, ...) replacing what was sent where given. Saved as a
    comparison of one column that points at the step."""
    draft = open_step(actor_id, step_id)
    edits = {**draft.overrides, **(overrides or {})}
    variant = Variant(agent_id=draft.agent_id, version=draft.version, overrides=edits)
    return start_comparison(actor_id, draft.group_id, [variant],
                            draft.messages if messages is None else messages,
                            source_step_id=draft.step_id, single_call=True)
