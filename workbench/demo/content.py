"""What the demo workspace contains: agents (two versions each), the shipped knowledge text,
and the conversations run on the built-in model when the demo is built.

The knowledge text lives in `workbench/demo/content/` (inside the package, so it is tracked by
git and found at run time wherever the package is installed; `data/` is git-ignored) plus the
project's own README.md."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEMO_GROUP_NAME = "Demo"
# Usage records generated for the charts carry this provider name: the marker in the database
# (no real call has it), shown as such on the Usage page.
GENERATED_PROVIDER = "demo (generated)"
CONTENT_DIR = Path(__file__).resolve().parent / "content"
PROJECT_README = Path(__file__).resolve().parent.parent.parent / "README.md"
MAX_OUTPUT_TOKENS = 160  # the built-in model streams ~30 tokens/s on 2 cores: keep runs short


@dataclass(frozen=True)
class AgentSpec:
    key: str
    name: str
    description: str
    tools: list[str]
    first_prompt: str  # version 1
    prompt: str  # version 2, the current one
    note: str  # why version 2 was saved
    temperature: float = 0.0  # repeatable demo runs


@dataclass(frozen=True)
class Conversation:
    agent: str  # AgentSpec.key
    message: str
    expect_tool: str | None  # the tool the run should call (reported when it did not)
    label: str = ""
    quick: bool = False  # also run in a quick build (screenshots in CI)


# Version 1 of the support and triage agents is the detailed prompt one would write first;
# version 2 is what works on the built-in 0.5B model (measured while writing the demo: with
# the long rule list it echoes "I called search_knowledge(...)" instead of answering from the
# result; with the short prompt it answers from it). The diff on the Agents page shows that.
SUPPORT = AgentSpec(
    key="support", name="Support agent",
    description="Answers Lumen Notes customers from the handbook in Knowledge (search_knowledge) "
                "and hands the thread to a person when the rules say so (call_human).",
    tools=["search_knowledge", "call_human"],
    first_prompt=("You are the support agent for Lumen Notes, a note-taking app for small teams.\n"
                  "- For any question about the product, plans, refunds, passwords or exports, call "
                  "search_knowledge first and answer only from what it returns, in two or three "
                  "sentences.\n"
                  "- When the customer asks for a person, a refund is older than 30 days, or someone "
                  "reports a security problem or lost data, call call_human with the reason.\n"
                  "- Never promise a refund or a credit the handbook does not allow."),
    prompt=("You are a helpful assistant for Lumen Notes customers. Use search_knowledge for "
            "questions about Lumen Notes. Use call_human when the customer asks for a person."),
    note="Shorter prompt: on the built-in model the rule list made it echo the tool call "
         "instead of answering from the result")

TRIAGE = AgentSpec(
    key="triage", name="Triage agent",
    description="Turns bug reports and requests into tasks on the Tasks page (create_task) and "
                "checks the group's state (get_context).",
    tools=["create_task", "get_context"],
    first_prompt=("You are the triage agent of the Lumen Notes team.\n"
                  "- For every problem or request reported to you, call create_task with a short "
                  "title (what is broken, where) and a priority: high when customers are blocked, "
                  "medium otherwise, low for ideas.\n"
                  "- When asked about the team's workload, call get_context about the group.\n"
                  "- After a tool returns, confirm in one sentence what you did."),
    prompt="You are the triage agent. File every reported problem with create_task.",
    note="One line: the small model confirms the task it filed instead of repeating the call")

ASSISTANT = AgentSpec(
    key="assistant", name="Writing assistant",
    description="A plain assistant with no tools: short answers, tips and small code on the "
                "built-in model.",
    tools=[],
    first_prompt="You are a helpful assistant.",
    prompt=("You are a writing assistant for prompt engineers. Answer briefly and plainly: at "
            "most three short points, no preamble."),
    note="Shorter answers: at most three points")

AGENTS: list[AgentSpec] = [SUPPORT, TRIAGE, ASSISTANT]

# Each starts its own thread; worded the way this small model reliably turns into the tool call
# (measured: asked explicitly, it calls the tool; asked vaguely, it may guess instead).
CONVERSATIONS: list[Conversation] = [
    Conversation("support", "Search the knowledge base: how do I reset my password?",
                 "search_knowledge", "a knowledge search", quick=True),
    Conversation("support", "I want a refund for an order from 45 days ago. Call a human support "
                            "lead to approve it.", "call_human", "an escalation"),
    Conversation("triage", "Create a task titled 'Export to CSV fails for large workspaces' with "
                           "high priority.", "create_task", "a task", quick=True),
    Conversation("triage", "Get context about the group: how many open tasks are there?",
                 "get_context", "a context look-up"),
    Conversation("assistant", "Give me three tips for writing a good system prompt.", None,
                 "a plain answer"),
]


# One saved comparison for the Playground: the assistant's two versions side by side.
COMPARISON_AGENT = "assistant"
COMPARISON_MESSAGE = "In one sentence: what makes a system prompt good?"

# Experiments: a small test set of the writing assistant, evaluated once at build time.
TEST_SET_NAME = "Writing assistant: quick facts"
TEST_SET_DESCRIPTION = "Short factual questions with one right answer; a reply passes when it contains it."
TEST_SET_CASES = [
    {"input": "What is the capital of France? Answer in one sentence.", "expected": "Paris"},
    {"input": "Which planet is the largest in the solar system? One sentence.", "expected": "Jupiter"},
    {"input": "What is the opposite of hot? Answer with one word.", "expected": "cold",
     "checks": [{"type": "contains", "value": "cold"}, {"type": "latency_under", "seconds": 60}]},
]

# Optimize: a format the writing assistant's prompt never asks for, so the search has failures
# to reflect on (on the built-in model, a small budget: about half a minute at build time).
OPTIMIZE_SET_NAME = "Writing assistant: answer format"
OPTIMIZE_SET_DESCRIPTION = "Replies must open with 'Answer:'; the starting prompt does not say so."
OPTIMIZE_SET_CASES = [
    {"input": "What is the capital of Spain?", "checks": [{"type": "regex", "pattern": "^\\s*Answer:"}]},
    {"input": "How many days are in a week?", "checks": [{"type": "regex", "pattern": "^\\s*Answer:"}]},
]
OPTIMIZE_BUDGET = 5


@dataclass(frozen=True)
class UsagePlan:
    """The generated history: per day, a few calls per demo agent on two hosted models."""
    days: int = 60
    models: list[tuple[str, str]] = field(default_factory=lambda: [
        ("openai", "gpt-4o-mini"), ("openai", "gpt-4o"), ("anthropic", "claude-sonnet-4-5")])
    seed: int = 14


@dataclass(frozen=True)
class DeployPlan:
    """The Deploy page's demo: the API key a product (the customer website's chat) would use,
    and the label it calls the support agent by. No model runs: the key's calls are part of
    the generated history, which places the key's making `key_days` ago."""
    key_name: str = "Website chat"
    key_days: int = 30
    key_share: float = 0.4  # of the generated support-agent calls since then, those the website made
    agent: str = "support"  # AgentSpec.key
    label: str = "production"
    version: int = 2
    seed: int = 7


def knowledge_files() -> list[tuple[str, bytes]]:
    """(name, bytes) for every shipped demo document and the project's README."""
    files = [(p.name, p.read_bytes()) for p in sorted(CONTENT_DIR.glob("*.md"))]
    if PROJECT_README.is_file():
        files.append(("Agent Workbench README.md", PROJECT_README.read_bytes()))
    return files
