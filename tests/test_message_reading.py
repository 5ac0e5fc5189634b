"""Reading a user's message without the model (providers/message_reading.py): a statement
about the user, a question about what they told earlier, a question about the organisation,
the names of an agent's instructions, and the notes the answer is given. How the decision
uses them: tests/test_tool_decision.py."""

from __future__ import annotations

import pytest

from workbench.providers.base import ChatRequest
from workbench.providers.message_reading import (
    ACKNOWLEDGE,
    asks_about_the_organisation,
    names_in,
    states_a_fact,
    subject_words,
    told_earlier,
    told_statement,
    with_answer_note,
)

SUPPORT = ("You are the support assistant of Acme Bikes, a shop that sells bicycles. Use "
           "search_knowledge for questions about the shop.\nAnswer briefly.")


def test_the_names_in_an_agents_instructions_are_its_capitalised_words_inside_sentences():
    assert names_in(SUPPORT) == {"Acme", "Bikes"}  # not "You", "Use", "Answer"
    assert names_in("") == set()


@pytest.mark.parametrize(("message", "about"), [
    ("How many people work at Acme Bikes?", True),  # a name from the instructions
    ("Where is your workshop?", True),  # asks the agent about its side
    ("Tell me your opening hours", True),
    ("Do you sell coffee machines?", True),  # what "you" do as a business
    ("Which payment methods do you accept?", True),
    ("Do you deliver to Switzerland?", True),
    ("Do you have a showroom in Faro?", True),  # what it has
    ("Can I pay in instalments?", True),  # what the user may do as a customer
    ("How do I return an opened item?", True),
    ("Can I ask you something?", False),
    ("How do I make pancakes?", False),
    ("How do you say 'thank you' in French?", False),  # "you" in general
    ("What colour do you get by mixing blue and yellow?", False),
    ("What is the capital of Italy?", False),  # general knowledge
    ("What is my name?", False),  # about the user
    ("My bike is from Acme.", False),  # not a question
    ("Your answers are not helping.", False),
    ("What are acme bikes?", False),  # names are matched as written
])
def test_a_question_about_the_organisation_says_your_or_names_a_name_from_the_instructions(message, about):
    assert asks_about_the_organisation(message, SUPPORT) is about


def test_the_subject_words_of_a_message_leave_out_words_that_name_no_subject():
    assert subject_words("Which ocean lies between Europe and America?") == {"ocean", "lie", "between",
                                                                              "europ", "america"}
    assert subject_words("Answer with one word only: what do bees make?") == {"bee", "mak"}
    assert subject_words("How many days do I have to return an opened item?") == {"return", "open", "item"}
    assert subject_words("How many hours are there in a day?") == set()
    assert subject_words("What is 27 plus 14?") == set()
    # numbers written out: "first" is in "their first order" too
    assert subject_words("List the first three months of the year, comma-separated.") == {"list", "comma-separat"}


@pytest.mark.parametrize(("message", "states"), [
    ("My flight leaves from gate B12.", True),
    ("I live in Tampere.", True),
    ("Hi, my name is Priya.", True),
    ("I want to know your returns policy.", False),  # asks, although it starts with I
    ("I need the returns policy", False),
    ("What is my name?", False),
    ("Search the knowledge base for: parking permit", False),
    ("Shipping is slow.", False),  # not about the user: left to the model
])
def test_a_message_that_tells_something_about_the_user(message, states):
    assert states_a_fact(message) is states


@pytest.mark.parametrize(("conversation", "told"), [
    (["My flight leaves from gate B12.", "Which gate does my flight leave from?"], True),
    (["My train leaves at 07:45.", "Thanks.", "When does my train leave?"], True),
    (["Hi, my name is Priya.", "What is my name?"], True),
    (["I live in Tampere.", "Which city do I live in?"], True),
    (["My order arrived damaged on Monday.", "On which day did my order arrive?"], True),  # another tense
    (["Our wedding anniversary is on 12 June.", "When is our anniversary?"], True),  # we, not I
    (["When does my train leave?"], False),  # nothing told before
    (["My train leaves at 07:45.", "When does the train to Porto leave?"], False),  # not about the user
    (["My order 58213 has not arrived.", "How long does delivery of my order take?"], False),  # 1 of 4 words
    (["My order 58213 has not arrived.", "What is your returns policy for my order?"], False),  # asks "your"
    (["I want to know your returns policy.", "What is my returns policy?"], False),  # asked, not told
])
def test_a_question_about_what_the_user_told_earlier(conversation, told):
    request = ChatRequest(model="m", messages=[{"role": "user", "content": said} for said in conversation])
    assert told_earlier(request) is told


def test_a_statement_about_the_user_is_acknowledged():
    [system, _] = with_answer_note(ChatRequest(model="m", messages=[
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "I drive a red Fiat."}])).messages
    assert system["content"] == f"Be brief.\n\n{ACKNOWLEDGE}"
    for asking in ("I want to know your returns policy.", "Where is my order?", "Create a task: call Ana."):
        request = ChatRequest(model="m", messages=[{"role": "user", "content": asking}])
        assert with_answer_note(request) is request


def test_of_two_statements_the_one_sharing_more_words_is_quoted_and_the_later_on_a_tie():
    def said(*conversation: str) -> str | None:
        return told_statement(ChatRequest(model="m", messages=[{"role": "user", "content": c} for c in conversation]))
    assert said("My train leaves at 07:45.", "My train leaves from platform 4.",
                "Which platform does my train leave from?") == "My train leaves from platform 4."
    assert said("My seat is 14C.", "My seat is 15A now.", "What is my seat?") == "My seat is 15A now."
