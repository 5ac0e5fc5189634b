"""What users, models and documents write never renders as HTML, an image or a link on the
pages that allow HTML (the chat's knowledge sources, the Knowledge page's search results)."""

from __future__ import annotations

import json

from tests.test_pages_chat_agents import chat, env  # noqa: F401 - env is a fixture
from workbench import knowledge as kb
from workbench import runs, threads
from workbench.db import session_scope
from workbench.markup import inert

HOSTILE = '<img src=x onerror="alert(1)"> ![pixel](http://evil.example/p.png) [win](http://evil.example) $x$'


def _no_live_markup(value: str) -> None:
    assert "<img" not in value and "<script" not in value
    assert "](http" not in value and "![" not in value  # no Markdown image or link survives
    assert "http://evil.example" not in value  # not even a bare URL that would autolink


def test_inert_escapes_html_markdown_and_math():
    out = inert(HOSTILE + "\n<script>x</script>")
    _no_live_markup(out)
    assert "&lt;img" in out and "&#36;x&#36;" in out and "\n" not in out
    assert inert("refund time") == "refund time"


def test_chat_sources_escape_the_models_query_and_the_documents_title(env):  # noqa: F811
    thread, _ = runs.create_thread(env.group, env.agent.id, env.person, title="Hostile")
    hits = [{"title": HOSTILE, "document_id": 1, "chunk_id": 7, "position": 0, "page": None,
             "score": 0.8, "text": "Plain passage."}]
    with session_scope() as s:
        row = threads.load_thread(s, env.person, thread.id)
        threads.append_message(s, row, role="user", content="Search please")
        threads.append_message(s, row, role="assistant", run_id=1, tool_calls=[
            {"id": "c1", "name": "search_knowledge", "arguments": json.dumps({"query": HOSTILE})}])
        threads.append_message(s, row, role="tool", name="search_knowledge", tool_call_id="c1", run_id=1,
                               content=json.dumps(hits), data={"arguments": {"query": HOSTILE},
                                                               "duration_ms": 5.0, "error": None})
        threads.append_message(s, row, role="assistant", run_id=1, content="Done.")
    at = chat(env, sel_thread=thread.id)
    sources = [m.value for m in at.markdown if "Sources" in m.value]
    assert len(sources) == 1 and "&lt;img" in sources[0]
    _no_live_markup(sources[0])
    labels = [e.label for e in at.expander if e.label.startswith("1. ")]
    assert len(labels) == 1
    _no_live_markup(labels[0])


def test_knowledge_page_escapes_the_query_the_title_and_the_text(wb):
    from streamlit.testing.v1 import AppTest

    from tests.test_knowledge import PAGE

    kb.add_snippet(wb.person_id, wb.group_id, HOSTILE, "Whales eat krill. " + HOSTILE)
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state["person_id"], at.session_state["group_id"] = wb.person_id, wb.group_id
    at.run()
    at.text_input(key="kb_query").input("whales " + HOSTILE)
    at.button(key="FormSubmitter:kb_search-Search").click()
    at.run()
    assert not at.exception, at.exception
    shown = [m.value for m in at.markdown if "evil" in m.value or "&lt;img" in m.value]
    assert len(shown) >= 2  # the result's title line and its highlighted text
    for value in shown:
        _no_live_markup(value)


# --- notebooks: what `workbench.notebook` returns displays as HTML in Jupyter ----------------

NB_HOSTILE = '<script>alert(2)</script><img src=x onerror="alert(1)"> $x$ <a href="http://evil.example">win</a>'
NOTEBOOK_TAGS = {"style", "div", "b", "table", "thead", "tbody", "tr", "th", "td"}  # the display's own


def _inert_notebook_html(value: str, shown: str | None = NB_HOSTILE) -> None:
    """Only the display's own tags and classes; the hostile string, when given, is there as
    text (escaped, so the browser shows it rather than running it); MathJax told to skip it."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(value, "html.parser")
    tags = soup.find_all(True)
    assert {t.name for t in tags} <= NOTEBOOK_TAGS, {t.name for t in tags} - NOTEBOOK_TAGS
    assert all(set(t.attrs) <= {"class"} for t in tags), [t.attrs for t in tags if set(t.attrs) - {"class"}]
    assert "tex2jax_ignore" in soup.find("div")["class"]
    if shown is not None:
        assert shown in soup.get_text()


def test_notebook_displays_escape_what_users_models_and_tools_wrote(scripted):
    import io

    import pandas as pd

    from tests.scripted_openai import call, text, tool_calls
    from workbench.notebook import connect

    wb = connect()
    agent = scripted.make_agent(name=NB_HOSTILE, tools=["create_task"])
    scripted.server.script(tool_calls(call("create_task", {"title": NB_HOSTILE})), text(NB_HOSTILE))
    reply = wb.chat(agent.id, NB_HOSTILE, out=io.StringIO())
    assert reply.reply == NB_HOSTILE
    _inert_notebook_html(reply._repr_html_())  # the agent's name, the reply
    _inert_notebook_html(wb.messages(reply)._repr_html_())  # the user's text, the tool's result
    _inert_notebook_html(wb.threads()._repr_html_(), shown=None)  # a title: the message, cut to 80 characters
    _inert_notebook_html(wb.runs()._repr_html_(), shown=None)
    _inert_notebook_html(wb.trace(reply)._repr_html_(), shown=None)
    _inert_notebook_html(wb.agents()._repr_html_())
    scripted.server.script(text(NB_HOSTILE), text(NB_HOSTILE))
    _inert_notebook_html(wb.compare([agent.id, {"agent": agent.id, "temperature": 0.1}], NB_HOSTILE)._repr_html_())
    cases = pd.DataFrame({"input": [NB_HOSTILE], "expected": [NB_HOSTILE + " (not said)"]})
    _inert_notebook_html(wb.test_set_from_frame("Hostile cases", cases)._repr_html_())
    scripted.server.script(text(NB_HOSTILE))
    evaluation = wb.eval("Hostile cases", agent.id, out=io.StringIO())
    _inert_notebook_html(evaluation._repr_html_())  # the input, the check's reason quoting the expected text
    _inert_notebook_html(wb.experiment(evaluation.experiment_id)._repr_html_())  # the reply
    _inert_notebook_html(wb.usage("today", by="agent")._repr_html_())
    # The Usage chart: plotly renders a few tags in labels, so a name goes in as entities.
    names = [y for trace in wb.usage_chart("today", "agents").data for y in trace.y]
    assert names and not any("<" in name for name in names)
    assert any(name.startswith("&lt;script&gt;") for name in names)
