"""The demo workspace: a group named "Demo" with agents that use every tool on the built-in
model, a knowledge base built from text that ships with the project, threads produced by real
runs, generated usage history (marked as such; a share of it through the demo's API key), an
API key and a `production` label for the Deploy page, and a budget near its 80 % warning.

    build_demo(person_id, progress=callback) -> DemoReport      # idempotent
    remove_demo(person_id) -> RemoveReport                      # the Demo group and nothing else
    has_generated_history(actor_id, group_id) -> bool           # for the Usage page
"""

from .build import DemoReport, StepOutcome, build_demo, find_demo_group, has_generated_history
from .content import DEMO_GROUP_NAME, GENERATED_PROVIDER
from .remove import RemoveReport, remove_demo

__all__ = ["DEMO_GROUP_NAME", "GENERATED_PROVIDER", "DemoReport", "RemoveReport", "StepOutcome",
           "build_demo", "find_demo_group", "has_generated_history", "remove_demo"]
