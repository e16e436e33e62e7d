"""The Torch Olympics (book Module 20, the capstone): benchmark a model, optimize it,
submit the numbers, and rank submissions in four events.

    from tinytorch.olympics import BenchmarkReport, generate_submission

``SimpleMLP`` is a baseline model, ``BenchmarkReport`` measures the six metrics,
``generate_submission`` / ``save_submission`` / ``validate_submission_schema`` make a
versioned, checked JSON file, and
``rank_submissions`` scores a set of them in the Latency Sprint, Memory Challenge,
Accuracy Contest and All-Around (rules in :mod:`tinytorch.olympics.events`). From a shell:
``tito olympics benchmark | validate | rank | events``.
"""

from tinytorch.olympics.events import (
    ACCURACY_CONTEST_MIN_COMPRESSION,
    ACCURACY_TOLERANCE,
    EVENTS,
    Standing,
    format_standings,
    rank_submissions,
    score_submission,
)
from tinytorch.olympics.models import SimpleMLP
from tinytorch.olympics.report import METRIC_KEYS, BenchmarkReport
from tinytorch.olympics.submission import (
    SCHEMA_VERSION,
    SubmissionError,
    generate_submission,
    load_submission,
    save_submission,
    submission_problems,
    validate_submission_schema,
)

__all__ = [
    "ACCURACY_CONTEST_MIN_COMPRESSION",
    "ACCURACY_TOLERANCE",
    "EVENTS",
    "METRIC_KEYS",
    "SCHEMA_VERSION",
    "BenchmarkReport",
    "SimpleMLP",
    "Standing",
    "SubmissionError",
    "format_standings",
    "generate_submission",
    "load_submission",
    "rank_submissions",
    "save_submission",
    "score_submission",
    "submission_problems",
    "validate_submission_schema",
]
