"""Sums in a user's message, worked out exactly for the built-in model's answer.

Qwen2.5-Coder-0.5B gets small sums wrong with confidence: "What is 17 times 4?" got "17
times 4 is 76." three times in three, and "Number only, please: what is 2 plus 2?" held to a
number came out "20". A sum written in the message ("17 times 4", "3 squared", "half of 90",
"15 % of 80", "(2 + 3) * 4") is read here (its operators as symbols, then Python's own parser,
`ast`), computed with exact fractions, and the answer pass
is given the result in its system turn (`worked_sum`, message_reading.answer_note), so the
model phrases an answer it is handed rather than computes one. Only numbers written as digits
and the operators below; a message with no whole sum in it gets nothing. Other providers'
models are not given it."""

from __future__ import annotations

import ast
import operator
import re
from fractions import Fraction

# Operators as users write them, in the order they are tried. "-", "x" and "/" only with
# spaces around: unspaced they are a phone number (555-1234), a plate (AB-12-CD), a size
# (3x4) or a date (12/05).
OPERATORS = [
    (r"multiplied\s+by|times|(?<=\s)x(?=\s)|[×*]", "*"),
    (r"divided\s+by|(?<=\s)/(?=\s)|÷", "/"),
    (r"plus|\+", "+"),
    (r"minus|(?<=\s)[-−](?=\s)", "-"),
]
# Digits, with thousands commas or a decimal point, not part of a longer run (a version, a code).
NUMBER = r"(?<![\w.,])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w,]|\.\d)"
OPERATOR = "|".join(f"(?:{pattern})" for pattern, _ in OPERATORS)
# A sum: a number, then operator and number pairs (brackets allowed around a part); or one
# number with a power, or a share of one.
SUM = re.compile(rf"[(\s]*{NUMBER}[)\s]*(?:(?:{OPERATOR})[(\s]*{NUMBER}[)\s]*)+", re.IGNORECASE)
POWER = re.compile(rf"({NUMBER})\s+(squared|cubed)\b", re.IGNORECASE)
SHARE = re.compile(rf"\b(half|a\s+third|a\s+quarter|double|twice)\s+(?:of\s+)?({NUMBER})"
                   rf"|({NUMBER})\s*(?:%|percent|per\s+cent)\s+of\s+({NUMBER})", re.IGNORECASE)
SHARES = {"half": Fraction(1, 2), "a third": Fraction(1, 3), "a quarter": Fraction(1, 4),
          "double": Fraction(2), "twice": Fraction(2)}
TOKEN = re.compile(rf"\s*(?:({NUMBER})|({OPERATOR})|([()]))\s*", re.IGNORECASE)
# A message that asks for a result: a question, or "calculate ...".
ASKS = re.compile(r"\?\s*$|^\W*(?:what|what's|how\s+much|calculate|compute|work\s+out|solve|tell\s+me|"
                  r"give\s+me)\b", re.IGNORECASE)
WORKED = "The user's sum, worked out exactly: {sum} = {result}. Answer with this result."


def _number(text: str) -> Fraction:
    return Fraction(text.replace(",", ""))


def _operator(text: str) -> str:
    """The symbol of an operator as SUM found it (the spaced ones without their spaces)."""
    for pattern, symbol in OPERATORS:
        if re.fullmatch(rf"\s?(?:{pattern})\s?", f" {text} ", re.IGNORECASE):
            return symbol
    raise ValueError(text)


def _expression(written: str) -> str:
    """The sum as Python writes it: "(2 plus 3) times 4" -> "(2 + 3) * 4"."""
    def symbol(match: re.Match[str]) -> str:
        number, written_operator, bracket = match.groups()
        return number.replace(",", "") if number else f" {_operator(written_operator)} " if written_operator else bracket
    return TOKEN.sub(symbol, written).strip()


# The arithmetic of a parsed sum, on exact fractions.
BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def _value(node: ast.AST) -> Fraction:
    """The value of a sum Python's parser read (numbers, + - * /, brackets), else ValueError."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return Fraction(str(node.value))
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        return BINARY[type(node.op)](_value(node.left), _value(node.right))  # ZeroDivisionError: no sum
    raise ValueError(ast.dump(node))


def shown(value: Fraction) -> str:
    """`value` as digits: whole, or with up to four decimals."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.4f}".rstrip("0").rstrip(".")


def worked_sum(message: str) -> str | None:
    """The note that hands the answer the result of the sum `message` asks for (WORKED), or
    None when it asks for none that can be read whole."""
    if not ASKS.search(message):
        return None
    found = SHARE.search(message) or POWER.search(message)
    try:
        if isinstance(found, re.Match) and found.re is SHARE:
            if found.group(1):
                share, number = SHARES[" ".join(found.group(1).lower().split())], _number(found.group(2))
            else:
                share, number = _number(found.group(3)) / 100, _number(found.group(4))
            return WORKED.format(sum=found.group(0).strip(), result=shown(share * number))
        if found is not None:
            power = 2 if found.group(2).lower() == "squared" else 3
            return WORKED.format(sum=found.group(0).strip(), result=shown(_number(found.group(1)) ** power))
        written = SUM.search(message)
        if written is None:
            return None
        value = _value(ast.parse(_expression(written.group(0)), mode="eval").body)
        return WORKED.format(sum=" ".join(written.group(0).split()), result=shown(value))
    except (ValueError, SyntaxError, ZeroDivisionError):
        return None
