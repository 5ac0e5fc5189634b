"""The Playground page and the Agents page's version history under AppTest, against the
scripted server over real HTTP. AppTest runs the page in this process, so the page's
streaming loop follows the runs until they end."""

from __future__ import annotations

from tests.scripted_openai import text, tool_call, usage
from tests.test_pages_chat_agents import env, no_exception, open_page  # noqa: F401 - fixture
from workbench import agents, runs
from workbench.agents import versions
from workbench.playground import Variant, get_comparison, list_comparisons, replay_thread, start_comparison
from workbench.system import workspace
from workbench.tenancy import groups, people


def playground(env, **state):
    return no_exception(open_page("playground.py", env.person, env.group, **state))


def _pick(at, i, agent_id):
    at.selectbox(key=f"pg_v{i}_agent").set_value(agent_id).run()
    return no_exception(at)


def test_three_variants_answer_side_by_side_and_the_best_is_saved(env):
    env.server.script_for("gpt-4o-mini", text("Mini answer", usage=usage(30, 3)))
    env.server.script_for("gpt-4o", text("Big answer", usage=usage(31, 4)))
    env.server.script_for("o3-mini", text("Reasoned answer", usage=usage(32, 5)))
    at = playground(env)
    at.button(key="pg_add_variant").click().run()
    for i in range(3):
        _pick(at, i, env.agent.id)
    prefix = f"pg_v{{}}_{env.agent.id}_1"
    at.text_input(key=prefix.format(1) + "_model").input("gpt-4o")
    at.text_input(key=prefix.format(2) + "_model").input("o3-mini")
    at.text_area(key=prefix.format(2) + "_prompt").input("Think step by step.")
    at.text_area(key="pg_turn_0").input("Which plan fits me?")
    at.button(key="pg_send").click().run()
    no_exception(at)
    comparison_id = at.session_state["pg_comparison"]
    view = get_comparison(env.person, comparison_id)
    assert [c.result.reply for c in view.columns] == ["Mini answer", "Big answer", "Reasoned answer"]
    assert view.columns[2].overrides == {"model": "o3-mini", "system_prompt": "Think step by step."}
    shown = [m.value for m in at.markdown]
    for reply in ("Mini answer", "Big answer", "Reasoned answer"):
        assert reply in shown
    lines = [m.value for m in at.markdown if m.value.startswith("First token **")]
    assert len(lines) == 3 and all("total **" in x and "cost **$0.0" in x for x in lines)
    assert ["**30** in / **3** out" in lines[0], "**31** in / **4** out" in lines[1],
            "**32** in / **5** out" in lines[2]] == [True] * 3

    at.button(key=f"pg_best_{comparison_id}_2").click().run()
    no_exception(at)
    assert get_comparison(env.person, comparison_id).best_column == 2
    at.button(key=f"pg_save_{comparison_id}_2").click().run()
    no_exception(at)
    saved = agents.get_agent(env.person, env.agent.id)
    assert (saved.version, saved.config.model, saved.config.system_prompt) == (2, "o3-mini", "Think step by step.")
    assert any("version 2" in s.value for s in at.success)


def test_a_saved_comparison_reopens_from_its_link(env):
    live = start_comparison(env.person, env.group, [Variant(env.agent.id), Variant(env.agent.id, 1,
                                                                                   {"temperature": 0.1})],
                            "Reopen me")
    live.wait(20)
    at = open_page("playground.py", env.person, env.group)
    at.query_params["comparison"] = str(live.id)
    at.run()
    no_exception(at)
    assert at.session_state["pg_comparison"] == live.id
    assert [m.value for m in at.markdown].count("This is the default scripted reply.") == 2
    assert "**user**: Reopen me" in [m.value for m in at.markdown]


def test_bad_input_is_refused_on_the_page(env):
    at = playground(env)
    at.button(key="pg_send").click().run()  # no message
    no_exception(at)
    assert any("Write a message first" in e.value for e in at.error)
    for _ in range(2):
        at.button(key="pg_add_variant").click().run()
    assert at.session_state["pg_n_variants"] == 4
    assert at.button(key="pg_add_variant").disabled
    assert any("At most 4 variants" in c.value for c in at.caption)
    assert list_comparisons(env.person, env.group) == []


def test_open_a_traced_step_edit_and_rerun(env):
    agents.update_agent(env.person, env.agent.id, system_prompt="You are the scripted agent.")
    env.server.script(tool_call("get_context", {"about": "group"}), text("All good."))
    thread, handle = runs.create_thread(env.group, env.agent.id, env.person, initial_message="Status?")
    result = handle.wait(20)
    from workbench.observe.traces import get_run_trace

    step = [s for s in get_run_trace(env.person, result.run_id).steps if s.kind == "model_call"][-1]
    original = env.server.chat_requests[-1].body
    at = open_page("playground.py", env.person, env.group)
    at.query_params["step"] = str(step.id)
    at.run()
    no_exception(at)
    k = f"pg_step_{step.id}"
    assert at.text_area(key=f"{k}_system").value == "You are the scripted agent."
    assert at.text_area(key=f"{k}_msg_0").value == "Status?"
    assert at.text_area(key=f"{k}_msg_2").value == original["messages"][-1]["content"]  # the tool result
    at.text_area(key=f"{k}_msg_0").input("Status, briefly?")
    env.server.script(text("Brief: all good."))
    at.button(key=f"{k}_rerun").click().run()
    no_exception(at)
    sent = env.server.chat_requests[-1].body
    assert sent["messages"][0] == original["messages"][0]
    assert sent["messages"][1]["content"] == "Status, briefly?"
    assert sent["messages"][2:] == original["messages"][2:] and sent["tools"] == original["tools"]
    shown = [m.value for m in at.markdown]
    assert "All good." in shown and "Brief: all good." in shown  # the original next to the rerun


def test_replay_tab_shows_both_threads_turn_by_turn(env):
    thread, handle = runs.create_thread(env.group, env.agent.id, env.person, initial_message="Hello there")
    handle.wait(20)
    env.server.script(text("Replayed hello"))
    replay_id = replay_thread(env.person, thread.id, Variant(env.agent.id, 1, {"model": "gpt-4o"}))
    at = open_page("playground.py", env.person, env.group)
    at.query_params["replay"] = str(replay_id)
    at.run()
    no_exception(at)
    shown = [m.value for m in at.markdown]
    assert "Replayed hello" in shown and "This is the default scripted reply." in shown
    assert any("Turn 1" in m and "Hello there" in m for m in shown)


def test_viewer_cannot_run_but_can_read(env):
    groups.add_member(env.person, env.group, email="v@example.com", name="Vi", role="viewer")
    viewer = people.find_person_by_email("v@example.com").id
    at = no_exception(open_page("playground.py", viewer, env.group))
    assert "pg_send" not in [b.key for b in at.button]


def test_agents_page_lists_versions_diffs_and_restores(env):
    agents.update_agent(env.person, env.agent.id, note="Stricter",
                        system_prompt="You are a helpful assistant.\nNever guess.", temperature=0.3)
    at = open_page("agents.py", env.person, env.group, sel_agent_edit=env.agent.id)
    no_exception(at)
    table = at.dataframe[0].value
    assert list(table["version"]) == [2, 1] and list(table["note"]) == ["Stricter", ""]
    assert any("+Never guess." in c.value for c in at.code)
    changes = at.dataframe[1].value
    assert list(changes["setting"]) == ["temperature"]
    at.button(key=f"agv_restore_{env.agent.id}").click().run()
    no_exception(at)
    assert versions.diff_versions(env.person, env.agent.id, 1, 3).identical
    assert any("Restored version 1 as version 3" in s.value for s in at.success)
    # a note typed at save is kept with the version
    at.text_input(key=f"ag_{env.agent.id}_v3_note").input("Warmer")
    at.slider(key=f"ag_{env.agent.id}_v3_temperature").set_value(0.9)
    at.button(key="agent_save").click().run()
    no_exception(at)
    assert versions.list_versions(env.person, env.agent.id)[0].note == "Warmer"


def test_traces_offer_open_in_playground_and_link_the_version(env):
    thread, handle = runs.create_thread(env.group, env.agent.id, env.person, initial_message="Hi")
    result = handle.wait(20)
    from workbench.observe.traces import get_run_trace

    step = get_run_trace(env.person, result.run_id).steps[0]
    at = open_page("traces.py", env.person, env.group)
    at.query_params["run"] = str(result.run_id)
    at.run()
    no_exception(at)
    captions = [c.value for c in at.caption]
    # links are plain captions here (AppTest runs the page outside the app's navigation)
    assert f"playground: step #{step.id}" in captions
    assert f"agent #{env.agent.id} v1" in captions


def test_a_short_conversation_is_sent_turn_by_turn(env):
    at = playground(env)
    at.text_area(key="pg_turn_0").input("And what is my name?")
    at.button(key="pg_add_turns").click().run()
    no_exception(at)
    assert at.session_state["pg_n_turns"] == 3
    assert at.text_area(key="pg_turn_2").value == "And what is my name?"
    at.text_area(key="pg_turn_0").input("I am Ada.")
    at.text_area(key="pg_turn_1").input("Nice to meet you, Ada.")
    for i in range(2):
        _pick(at, i, env.agent.id)
    at.button(key="pg_send").click().run()
    no_exception(at)
    sent = [r.body["messages"] for r in env.server.chat_requests]
    assert len(sent) == 2
    for messages in sent:
        assert [(m["role"], m["content"]) for m in messages] == [
            ("user", "I am Ada."), ("assistant", "Nice to meet you, Ada."), ("user", "And what is my name?")]
    at.button(key="pg_clear").click().run()
    at.button(key="pg_one_turn").click().run()
    no_exception(at)
    assert at.session_state["pg_n_turns"] == 1 and at.text_area(key="pg_turn_0").value == "And what is my name?"


def test_another_groups_comparison_link_is_refused(env):
    live = start_comparison(env.person, env.group, [Variant(env.agent.id), Variant(env.agent.id)], "Ours")
    live.wait(20)
    stranger = workspace.create_group(env.person, "Elsewhere")  # env.person owns it; make someone else
    groups.add_member(env.person, stranger.id, email="out@example.com", name="Out", role="editor")
    outsider = people.find_person_by_email("out@example.com").id
    at = open_page("playground.py", outsider, stranger.id)
    at.query_params["comparison"] = str(live.id)
    at.run()
    no_exception(at)
    assert any("not a member of this group" in e.value for e in at.error)
    assert "Ours" not in " ".join(m.value for m in at.markdown)
