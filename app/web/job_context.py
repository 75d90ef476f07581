"""What a kind of background job is given and hands back: the server's parts (`JobContext`), what its
`prepare` returns (`Prepared`), and the errors a kind or the queue raises (a 422 naming what is accepted, a 429,
a stop at shutdown). Apart from the queue (jobs.py) so that the kinds and the data helpers need not import it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from app.config import Settings
from app.core.model.registry import ModelRegistry
from app.store.models import User
from app.web.paths import PublicPaths
from app.web.uploads import Uploads

T = TypeVar("T")


class JobInputError(ValueError):
    """A request a kind cannot run -> 422 (or `status`), naming the field and what would be accepted."""

    def __init__(self, message: str, field: str | None, accepted: list[str] | None = None, status: int = 422):
        super().__init__(message)
        self.field, self.accepted, self.status = field, accepted, status


class TooManyJobs(Exception):
    """-> 429: the user already has HEADSCOPE_MAX_JOBS_PER_USER jobs queued or running."""


class JobCancelled(Exception):
    """The server is shutting down: the job stops before its next batch of model work."""


@dataclass
class Prepared:
    """What `JobKind.prepare` hands the queue.

    key_parts: everything the result depends on (hashed into the job id, the cache key);
    description: the job's public fields in every status answer (e.g. model, data, settings);
    total: the units of work, for progress; inputs: anything `run` needs that was loaded already.
    """

    key_parts: dict[str, Any]
    description: dict[str, Any]
    total: int = 0
    inputs: Any = None


class OtherJobs(Protocol):
    """The queue as a kind sees it when its result is built on jobs of another kind (a seed group's analyses)."""

    def submit_dependency(self, kind: str, body: Any, user: User) -> str: ...

    def finished_result(self, kind: str, job_id: str) -> dict[str, Any]: ...

    def kind(self, name: str) -> Any: ...

    def set_visibility(self, kind: Any, job_id: str, user: User, visibility: str) -> Any: ...


@dataclass
class JobContext:
    """The server's parts a kind may use."""

    settings: Settings
    registry: ModelRegistry
    uploads: Uploads
    public: PublicPaths
    run_on_model_thread: Callable[[Callable[[], T]], T]
    jobs: OtherJobs | None = None  # the queue itself (set by JobQueue)
