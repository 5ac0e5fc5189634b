"""Typed errors. Every error a user can meet carries a plain sentence in `user_message`;
pages and the CLI show that sentence, never a stack trace."""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base of every error the package raises on purpose."""

    default_message = "Something went wrong."

    def __init__(self, message: str | None = None, *, cause: BaseException | None = None):
        super().__init__(message or self.default_message)
        if cause is not None:
            self.__cause__ = cause

    @property
    def user_message(self) -> str:
        return str(self)


class NotFound(WorkbenchError):
    default_message = "Not found."


class GroupNotFound(NotFound):
    default_message = "That group does not exist."


class PersonNotFound(NotFound):
    default_message = "That person does not exist."


class AgentNotFound(NotFound):
    default_message = "That agent does not exist."


class ThreadNotFound(NotFound):
    default_message = "That thread does not exist."


class RunNotFound(NotFound):
    default_message = "That run does not exist."


class DocumentNotFound(NotFound):
    default_message = "That document does not exist."


class TaskNotFound(NotFound):
    default_message = "That task does not exist."


class ProviderNotFound(NotFound):
    default_message = "That provider does not exist."


class AccessDenied(WorkbenchError):
    default_message = "You do not have access to this."


class InvalidApiKey(AccessDenied):
    """An API request without a key, with a wrong one, or with a revoked one."""

    default_message = "Missing, wrong or revoked API key."


class ValidationError(WorkbenchError):
    """Bad input. `field_errors` maps a field name to its message so forms can show
    each error next to its field."""

    default_message = "Some fields are not valid."

    def __init__(self, message: str | None = None, *, field_errors: dict[str, str] | None = None):
        self.field_errors = dict(field_errors or {})
        if message is None and self.field_errors:
            message = "; ".join(f"{k}: {v}" for k, v in self.field_errors.items())
        super().__init__(message)


class ConflictError(WorkbenchError):
    default_message = "That conflicts with something that already exists."


class ProviderError(WorkbenchError):
    """A model provider failed. `retryable` says whether trying again may help."""

    default_message = "The model provider failed."
    retryable = False

    def __init__(self, message: str | None = None, *, status_code: int | None = None,
                 cause: BaseException | None = None):
        super().__init__(message, cause=cause)
        self.status_code = status_code


class ProviderUnavailable(ProviderError):
    default_message = "The model provider cannot be reached."
    retryable = True


class ProviderRateLimited(ProviderError):
    default_message = "The model provider is rate limiting requests."
    retryable = True


class ProviderAuthError(ProviderError):
    default_message = "The provider rejected the API key (missing or wrong)."


class MissingApiKey(ProviderAuthError):
    default_message = "No API key is configured for this provider."


class ModelNotFound(ProviderError):
    default_message = "The provider does not know that model."


class ProviderBadResponse(ProviderError):
    default_message = "The provider sent a response that could not be read."
    retryable = True


class AgentExecutionError(WorkbenchError):
    default_message = "The agent could not finish its reply."


class StepLimitReached(AgentExecutionError):
    default_message = "The agent reached its tool step limit before answering."


class RunCancelled(WorkbenchError):
    default_message = "The run was cancelled."


class RunInProgress(ConflictError):
    default_message = "A reply is still being written in this thread; wait for it or stop it."


class RetryLater(WorkbenchError):
    """A refusal that passes: `retry_after_s` says when trying again can succeed, if known."""

    def __init__(self, message: str | None = None, *, retry_after_s: float | None = None):
        super().__init__(message)
        self.retry_after_s = retry_after_s


class BudgetExceeded(RetryLater):
    default_message = "This group has reached its monthly budget; new runs are paused."


class RateLimitExceeded(RetryLater):
    default_message = "This group is over its rate limit; try again in a moment."


class RunsBusy(RateLimitExceeded):
    """This process cannot start the run now (too many starts at once, or no database
    connection free): refused before admission, nothing written."""

    default_message = "The workbench is busy: too many runs are starting at once; try again in a few seconds."


class KnowledgeStoreError(WorkbenchError):
    """The vector store (Chroma, a local folder or a server) failed a request."""

    default_message = "The knowledge store failed."


class KnowledgeStoreUnavailable(KnowledgeStoreError):
    """The Chroma server cannot be reached or did not answer in time."""

    default_message = "The knowledge store cannot be reached."


class IngestError(WorkbenchError):
    """One file could not be ingested; `filename` says which."""

    def __init__(self, filename: str, reason: str):
        super().__init__(f"{filename}: {reason}")
        self.filename = filename
        self.reason = reason


def cause_chain(exc: BaseException) -> list[dict[str, str]]:
    """The exception and its causes, outermost first, as type and message pairs."""
    chain, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append({"type": type(current).__name__, "message": str(current)})
        current = current.__cause__ or current.__context__
    return chain
