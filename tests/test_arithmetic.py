"""Sums in a user's message worked out for the built-in model's answer
(providers/arithmetic.py), and the note that hands the answer the result."""

from __future__ import annotations

import pytest

from workbench.providers.arithmetic import worked_sum
from workbench.providers.base import ChatRequest
from workbench.providers.message_reading import with_answer_note


@pytest.mark.parametrize(("message", "written", "result"), [
    ("What is 17 times 4?", "17 times 4", "68"),
    ("Number only, please: what is 2 plus 2?", "2 plus 2", "4"),
    ("What is 45 minus 17?", "45 minus 17", "28"),
    ("What is 100 divided by 4?", "100 divided by 4", "25"),
    ("What is 7 divided by 2?", "7 divided by 2", "3.5"),
    ("What is 10 divided by 3?", "10 divided by 3", "3.3333"),
    ("What is 2 - 3 * 4?", "2 - 3 * 4", "-10"),  # * before -
    ("What is (2 + 3) * 4?", "(2 + 3) * 4", "20"),
    ("What is 5 x 2 - 1?", "5 x 2 - 1", "9"),
    ("What is 20 / 4?", "20 / 4", "5"),
    ("What is 1,000 plus 5?", "1,000 plus 5", "1005"),
    ("Calculate 2.5 times 4", "2.5 times 4", "10"),
    ("Reply with only the number: what is 3 squared?", "3 squared", "9"),
    ("What is 2 cubed?", "2 cubed", "8"),
    ("What is half of 90?", "half of 90", "45"),
    ("What is 15 % of 80?", "15 % of 80", "12"),
])
def test_a_sum_written_in_a_question_is_worked_out_exactly(message, written, result):
    assert worked_sum(message) == f"The user's sum, worked out exactly: {written} = {result}. Answer with this result."


@pytest.mark.parametrize("message", [
    "My phone number is 555-1234.",  # not asked, and unspaced: a number
    "Is my locker 3-4 or 3x4?",  # unspaced: a code and a size
    "When is my delivery due on 12/05?",  # a date
    "Is shipping free on orders over 50 euros?",
    "Take 2 tablets 3 times a day?",  # "times" without a number after it
    "What is 7 divided by 0?",
    "What is version 2.1.3 plus 4?",  # a version is not a number
    "How many minutes are in two hours?",  # numbers in words are not read
    "17 times 4 is what I ordered.",  # not a question
    "What is (2 + 3 * 4?",  # a bracket left open
])
def test_no_sum_is_read_where_none_is_asked_whole(message):
    assert worked_sum(message) is None


def test_the_answer_is_handed_the_result_of_a_sum_and_not_of_half_a_sum():
    told = [{"role": "system", "content": "You are a support assistant."},
            {"role": "user", "content": "My locker code is 3390."},
            {"role": "assistant", "content": "Noted."},
            {"role": "user", "content": "What is my locker code plus 10?"}]
    system = with_answer_note(ChatRequest(model="m", messages=told)).messages[0]["content"]
    assert '"My locker code is 3390."' in system and "worked out" not in system  # no sum written whole
    asked = [told[0], {"role": "user", "content": "What is 17 times 4?"}]
    [system, question] = with_answer_note(ChatRequest(model="m", messages=asked)).messages
    assert system["content"] == ("You are a support assistant.\n\nThe user's sum, worked out exactly: "
                                 "17 times 4 = 68. Answer with this result.")
    assert question == asked[1]
