"""The built-in model (Qwen2.5-Coder-1.5B on the embedded llama.cpp server, for real) calls
a group's mock tool through the run loop: the call and its result are in the trace, and
the reply uses the result. Temperature 0."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from workbench import agents, runs
from workbench.db import session_scope
from workbench.models import ProviderRecord, RunStep
from workbench.providers.builtin_model import model_id
from workbench.providers.tool_decision import decision_tools
from workbench.tools.custom import service

pytestmark = pytest.mark.slow


def test_the_builtin_model_calls_a_mock_tool(wb):
    service.create_tool(wb.person_id, wb.group_id, name="get_weather", kind="mock",
                        description="The current weather in a city.",
                        parameters={"type": "object", "properties": {"city": {"type": "string"}},
                                    "required": ["city"]},
                        template="Weather in {{city}}: heavy snow, -7 °C.")
    with session_scope() as s:
        provider_id = s.scalar(select(ProviderRecord.id).where(ProviderRecord.group_id == wb.group_id,
                                                              ProviderRecord.kind == "local"))
    agent = agents.create_agent(wb.person_id, wb.group_id, name="Local weather", provider_id=provider_id,
                                model=model_id(), temperature=0.0, max_output_tokens=120, max_tool_steps=3,
                                system_prompt="You are a helpful assistant. Use get_weather for weather questions.",
                                tools=["get_weather"])
    thread, _ = runs.create_thread(wb.group_id, agent.id, wb.person_id)
    result = runs.continue_thread(thread.id, "Use the get_weather tool: what is the weather in Oslo?",
                                     wb.person_id).wait(240)
    assert result.status == "complete", result.error
    with session_scope() as s:
        steps = s.scalars(select(RunStep).where(RunStep.run_id == result.run_id).order_by(RunStep.seq)).all()
        calls = [st for st in steps if st.kind == "tool_call"]
        assert calls and calls[0].name == "get_weather" and calls[0].status == "ok", \
            [(st.kind, st.name, st.response) for st in steps]
        assert calls[0].request["arguments"]["city"].lower() == "oslo"
        assert calls[0].response["result"] == "Weather in Oslo: heavy snow, -7 °C."
        # The tool was offered through the constrained decision, exactly as sent.
        assert "get_weather" in decision_tools(steps[0].request["decision"]["response_format"])
    assert "snow" in result.reply.lower() or "-7" in result.reply, result.reply
