"""The playground on the group's built-in provider, from the CLI: a comparison of two
variants and a replay, answered by the built-in model for real (slow: it needs the model)."""

from __future__ import annotations

import pytest

from workbench import agents
from workbench.cli.commands import main
from workbench.db import session_scope
from workbench.models import ProviderRecord
from workbench.playground import compare_replay, get_comparison
from workbench.providers import service as provider_service

pytestmark = pytest.mark.slow


def _builtin_agent(wb, **values):
    """An agent on the provider a new group starts with (the built-in model, whatever runs it)."""
    demo = agents.get_agent(wb.person_id, wb.agent_id).config
    with session_scope() as s:
        provider = s.get(ProviderRecord, demo.provider_id)
        model = provider_service.starting_model(provider) or demo.model
    return agents.create_agent(wb.person_id, wb.group_id, name=values.pop("name", "Built-in tester"),
                               provider_id=demo.provider_id, model=model,
                               max_output_tokens=24, temperature=0.0, **values)


def test_cli_compare_and_replay_on_the_builtin_model(wb, capsys):
    first = _builtin_agent(wb, system_prompt="Answer in one short sentence.")
    second = _builtin_agent(wb, name="Built-in terse", system_prompt="Answer with one word.")
    assert main(["compare", "--agent", f"{first.id}@1", "--agent", str(second.id),
                 "What is the capital of France?"]) == 0
    captured = capsys.readouterr()
    comparison_id = int(captured.err.split("[comparison ")[1].split("]")[0])
    view = get_comparison(wb.person_id, comparison_id)
    for column in view.columns:
        assert column.result.status == "complete" and column.result.reply.strip()
        assert column.result.output_tokens > 0 and column.result.ttft_ms is not None
    assert captured.out.count("ttft ") == 2

    assert main(["chat", "--agent", str(first.id), "Name a colour."]) == 0
    thread_id = int(capsys.readouterr().err.split("[thread ")[1].split("]")[0])
    assert main(["replay", str(thread_id), "--agent", f"{second.id}@1"]) == 0
    out = capsys.readouterr().out
    replay_id = int(out.split("[replay thread ")[1].split(" ")[0])
    turns = compare_replay(wb.person_id, replay_id).turns
    assert [t.user for t in turns] == ["Name a colour."]
    assert turns[0].replay.status == "complete" and turns[0].replay.output_tokens > 0
