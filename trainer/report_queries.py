"""What the report reads from MLflow: the experiment's latest run of each kind, and the registry's state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from trainer.experiments import DEFAULT_RUNS
from trainer.gate import Scores
from trainer.tags import (
    FEEDBACK_ACCURACY_TAG,
    REAL_PEN_ACCURACY_TAG,
    REASON_TAG,
    RUN_KEY_TAG,
    STAGE_TAG,
    SYNTHETIC_DRAWN_ACCURACY_TAG,
    TEST_ACCURACY_TAG,
)
from trainer.tracking import is_not_found

CURVES = ("loss", "val_loss", "accuracy", "val_accuracy")  # the metric histories read per run


class ReportError(Exception):
    """What the tracking server holds is not enough for a report (no experiment, no finished run)."""


@dataclass
class RunSummary:
    """One run as the report shows it."""

    run_id: str
    experiment_id: str
    key: str
    title: str
    reason: str
    params: dict[str, str]
    test_accuracy: float
    real_pen_accuracy: float
    synthetic_drawn_accuracy: float
    test_loss: float
    seconds_per_epoch: float
    started: datetime
    feedback_accuracy: float | None = None
    history: dict[str, list[float]] = field(default_factory=dict)

    @property
    def scores(self) -> Scores:
        """The figures the gate compares (gate.py)."""
        return Scores(
            test_accuracy=self.test_accuracy,
            real_pen_accuracy=self.real_pen_accuracy,
            synthetic_drawn_accuracy=self.synthetic_drawn_accuracy,
            feedback_accuracy=self.feedback_accuracy,
        )


@dataclass
class VersionSummary:
    """One registered version."""

    version: str
    run_id: str
    created: datetime
    stage: str
    test_accuracy: str
    real_pen_accuracy: str
    synthetic_drawn_accuracy: str
    feedback_accuracy: str
    description: str


@dataclass
class RegistryState:
    """The registered model: every version, and which one holds the alias."""

    alias_version: str | None
    versions: list[VersionSummary]


def _time(milliseconds: int | None) -> datetime:
    return datetime.fromtimestamp((milliseconds or 0) / 1000, tz=UTC)


def collect_runs(client: MlflowClient, experiment_name: str) -> list[RunSummary]:
    """The latest FINISHED run of each defined kind, in the trainer's order (a kind never run is left out)."""
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        raise ReportError(f"experiment {experiment_name!r} does not exist: train first (docker compose run trainer)")
    runs = []
    for config in DEFAULT_RUNS:
        found = client.search_runs(
            [experiment.experiment_id],
            filter_string=f"tags.{RUN_KEY_TAG} = '{config.key}' and attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        if not found:
            continue
        run = found[0]
        metrics = run.data.metrics
        summary = RunSummary(
            run_id=run.info.run_id,
            experiment_id=experiment.experiment_id,
            key=config.key,
            title=run.info.run_name or config.title,
            reason=run.data.tags.get(REASON_TAG, config.reason),
            params=run.data.params,
            test_accuracy=metrics.get("test_accuracy", float("nan")),
            real_pen_accuracy=metrics.get("real_pen_accuracy", float("nan")),
            synthetic_drawn_accuracy=metrics.get("synthetic_drawn_accuracy", float("nan")),
            test_loss=metrics.get("test_loss", float("nan")),
            seconds_per_epoch=metrics.get("seconds_per_epoch", float("nan")),
            started=_time(run.info.start_time),
            feedback_accuracy=metrics.get("feedback_accuracy"),
        )
        for name in CURVES:
            history = sorted(client.get_metric_history(run.info.run_id, name), key=lambda m: m.step)
            summary.history[name] = [m.value for m in history]
        runs.append(summary)
    if not runs:
        raise ReportError(f"experiment {experiment_name!r} has no finished run: train first")
    return runs


def collect_registry(client: MlflowClient, model_name: str, alias: str) -> RegistryState:
    """Every version of ``model_name`` (newest first) and the version ``alias`` points at."""
    try:
        model = client.get_registered_model(model_name)
    except MlflowException as exc:
        if is_not_found(exc):  # nothing registered yet; other errors are errors
            return RegistryState(alias_version=None, versions=[])
        raise
    versions = client.search_model_versions(f"name = '{model_name}'")
    summaries = [
        VersionSummary(
            version=str(v.version),
            run_id=v.run_id,
            created=_time(v.creation_timestamp),
            stage=v.tags.get(STAGE_TAG, ""),
            test_accuracy=v.tags.get(TEST_ACCURACY_TAG, ""),
            real_pen_accuracy=v.tags.get(REAL_PEN_ACCURACY_TAG, ""),
            synthetic_drawn_accuracy=v.tags.get(SYNTHETIC_DRAWN_ACCURACY_TAG, ""),
            feedback_accuracy=v.tags.get(FEEDBACK_ACCURACY_TAG, ""),
            description=v.description or "",
        )
        for v in versions
    ]
    summaries.sort(key=lambda v: int(v.version), reverse=True)
    holder = model.aliases.get(alias)
    return RegistryState(alias_version=None if holder is None else str(holder), versions=summaries)
