"""Test sets and experiments: measure an agent change before it ships.

A test set (testsets) holds cases: an input, an optional expected answer, optional checks
(checks). Files in and out: io. An experiment (runner) runs an agent variant over a test set
version, each case N times, as ordinary runs (traced, priced, under budget and rate
limits), stoppable and resumable; results reads it, compare sets two side by side; charts
draws a test set's history as a plotly figure (imported on its own: plotly is not loaded
with this package). This package builds on the playground; the playground never imports it."""

from .checks import CHECKS, CheckResult, Observation, evaluate, normalize_check, parse_verdict
from .compare import (ExperimentComparison, compare_experiments, experiment_history,
                      previous_experiment)
from .io import ImportRejected, export_cases, export_test_set, import_test_set, parse_cases
from .results import (CaseResult, ExperimentView, experiment_spend, get_experiment,
                      list_experiments)
from .runner import (EXPERIMENT, ExperimentNotFound, resume_experiment, start_experiment,
                     stop_experiment, wait_experiment)
from .testsets import (TestSetNotFound, TestSetView, add_case, case_from_message, case_from_run,
                       create_test_set, find_test_set, get_test_set, list_test_set_versions,
                       list_test_sets, save_cases, update_test_set)

__all__ = [
    "CHECKS", "EXPERIMENT", "CaseResult", "CheckResult", "ExperimentComparison", "ExperimentNotFound",
    "ExperimentView", "ImportRejected", "Observation", "TestSetNotFound", "TestSetView", "add_case",
    "case_from_message", "case_from_run", "compare_experiments", "create_test_set", "evaluate",
    "experiment_history", "experiment_spend", "export_cases", "export_test_set", "find_test_set",
    "get_experiment", "get_test_set", "import_test_set", "list_experiments", "list_test_set_versions",
    "list_test_sets", "normalize_check", "parse_cases", "parse_verdict", "previous_experiment",
    "resume_experiment", "save_cases", "start_experiment", "stop_experiment", "update_test_set",
    "wait_experiment",
]
