"""Optimize: improve an agent's system prompt from its test set by reflective prompt evolution
(the `gepa` package). Every candidate is scored by ordinary runs of the agent through the
experiment runner (tools and knowledge really run; traced, priced, under the budget); the
reflection model is called as runs too. The result is a new agent version beside the old one.

    service  start_optimization, stop_optimization, resume_optimization, get_optimization,
             list_optimizations, candidate_runs (the runs behind a candidate's score),
             save_candidate (a new version), run_as_experiment, wait_optimization
    search   WorkbenchAdapter (gepa's GEPAAdapter), run_search (gepa.optimize with our
             checkpoint in the database), case_score

May use: experiments, playground, agents, runs (workers), tenancy, the core.
Modules, arrows down: service -> search."""

from .search import OPTIMIZATION, case_score
from .service import (DEFAULT_BUDGET, CandidateRun, CandidateView, OptimizationNotFound, OptimizationView,
                      candidate_runs, get_optimization, list_optimizations, resume_optimization, run_as_experiment,
                      save_candidate, split_cases, start_optimization, stop_optimization, wait_optimization)

__all__ = ["OPTIMIZATION", "DEFAULT_BUDGET", "CandidateRun", "CandidateView", "OptimizationNotFound",
           "OptimizationView", "candidate_runs", "case_score", "get_optimization", "list_optimizations",
           "resume_optimization", "run_as_experiment", "save_candidate", "split_cases", "start_optimization",
           "stop_optimization", "wait_optimization"]
