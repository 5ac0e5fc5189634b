"""The workbench from a notebook (Jupyter, or any Python prompt): a person acting in a group,
set once by `connect`, then the same services as the pages and the CLI, with the same access
checks, returning pandas DataFrames and objects that display themselves as the pages do.

    from workbench.notebook import connect
    wb = connect()                                   # the local person, their first group (as the CLI)
    reply = wb.chat("Writer", "Hello")               # streams into the cell; a ChatResult
    wb.threads(); wb.messages(reply); wb.runs(status="failed"); wb.trace(reply)
    wb.usage("30d", by="model"); wb.usage_chart("30d")          # the Usage page's plotly figure
    wb.compare(["Writer@1", "Writer@2"], "Hi")                  # one row per variant
    wb.test_set_from_frame("Facts", df); wb.eval("Facts", "Writer"); wb.experiment(3)

    face     connect, Workbench: the calls above, each one service call (or a few reads)
    frames   service views -> DataFrames, typed the same with rows or without
    display  RichFrame (a DataFrame with a title and facts), ChatResult, Evaluation: their
             `_repr_html_`, every string of a user, model, tool or document escaped

Nothing here imports Jupyter or IPython: a reply streams to stdout, which a notebook shows as
it arrives, and `_repr_html_` is a plain method. May use: every service package (system,
runs, threads, observe, costs, experiments, playground, agents, providers, tenancy) and the
core; nothing in the workbench imports it. Modules, arrows down: face -> frames -> display."""

from .display import ChatResult, Evaluation, RichFrame
from .face import Workbench, connect

__all__ = ["ChatResult", "Evaluation", "RichFrame", "Workbench", "connect"]
