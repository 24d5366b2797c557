"""``python -m trainer`` (train): load the data, connect, train every run, promote the best, exit code.

Exit codes: 0 all runs finished and the promotion was decided; 1 a run failed; 2 bad data or
configuration; 3 tracking server unreachable; 4 it refused or failed a request; 130 interrupted.
"""

from __future__ import annotations

import logging

import mlflow
from mlflow import MlflowClient
from mlflow.entities import RunStatus
from mlflow.exceptions import MlflowException

from trainer.data import DataError
from trainer.evaluation import champion_evaluator
from trainer.experiments import select_runs
from trainer.export import ExportMismatchError
from trainer.gate import select_best
from trainer.promotion import PromotionResult, register_and_promote
from trainer.settings import TrainerSettings
from trainer.stopping import StopRequest
from trainer.tracking import TrackingLoginRequiredError, TrackingUnavailableError, connect, where_results_went
from trainer.train import RunResult, TrainingDivergedError, format_summary, train_model
from trainer.training_data import load_training_data

log = logging.getLogger(__name__)

# What stops a training before it starts, and the exit code each one gives.
EXIT_CODES: dict[type[Exception], int] = {
    DataError: 2,
    TrackingUnavailableError: 3,
    TrackingLoginRequiredError: 4,
}


def run_all(settings: TrainerSettings, stop: StopRequest) -> tuple[list[RunResult], PromotionResult | None]:
    """Train every configured run, then promote the best finished one; ``stop`` ends it early."""
    runs = select_runs(settings.run_keys, settings.trainer_epochs or None)
    data = load_training_data(settings)
    mnist = data.mnist
    log.info(
        f"MNIST from {mnist.source}: {len(mnist.x_train)} train / {len(mnist.x_val)} validation / "
        f"{len(mnist.x_test)} test images; {len(data.marked.y)} marked digits and {len(data.styles)} synthetic "
        "styles mixed in; evaluated on "
        f"{len(data.real_pens)} real pen-drawn digits and {len(data.drawn)} synthetic drawn digits"
    )
    if data.feedback is not None:
        log.info(
            f"People's feedback from {data.feedback.source}: {len(data.feedback.train)} labelled drawings to train "
            f"on (each {data.feedback_weight}x), {len(data.feedback.held_out)} later ones held out (from "
            f"{data.feedback.cutoff:%Y-%m-%d %H:%M:%S %Z})"
        )
    experiment_id = connect(settings)
    results: list[RunResult] = []
    for config in runs:
        stop.check()
        log.info(f"\n=== {config.title} ===\n{config.reason}")
        try:
            results.append(train_model(config, data, settings.trainer_seed, experiment_id, stop))
        except (TrainingDivergedError, ExportMismatchError, ValueError, RuntimeError) as exc:
            log.error(f"  run failed: {exc}")
            run_id = mlflow.last_active_run().info.run_id
            failed = RunStatus.to_string(RunStatus.FAILED)
            results.append(RunResult(config=config, run_id=run_id, status=failed, error=str(exc)))
    print("\n" + format_summary(results))  # the command's output: stdout
    finished = [r.as_candidate() for r in results if r.status == RunStatus.to_string(RunStatus.FINISHED)]
    if not finished:
        return results, None
    best = select_best(finished)
    stop.check()
    promotion = register_and_promote(
        MlflowClient(),
        best,
        settings.registered_model_name,
        settings.model_alias,
        settings.force_promote,
        champion_evaluator(data, best.scores),
    )
    return results, promotion


def run_training(settings: TrainerSettings) -> int:
    """``python -m trainer``: train, promote, and return the process exit code."""
    stop = StopRequest()
    # `docker stop` sends SIGTERM: handled like Ctrl-C, so the active run ends KILLED, not RUNNING.
    stop.install()
    try:
        results, promotion = run_all(settings, stop)
    except tuple(EXIT_CODES) as exc:
        log.error(f"error: {exc}")
        return next(code for kind, code in EXIT_CODES.items() if isinstance(exc, kind))
    except MlflowException as exc:
        log.error(f"error: the tracking server refused or failed a request: {exc}")
        log.error("Nothing was registered; a run that was in progress is marked FAILED.")
        log.error(
            "The tracking server's log says why (docker compose logs tracking); HTTP 500s on artifact "
            "uploads usually mean its artifact store (S3/MinIO) is down or its credentials are wrong."
        )
        return 4
    except KeyboardInterrupt:
        log.error("interrupted: the active run is marked KILLED and nothing was promoted")
        return 130
    if promotion is None:
        log.error("error: no run finished, nothing was registered")
        return 1
    verdict = "promoted" if promotion.decision.promote else "not promoted"
    name = settings.registered_model_name
    # The command's output, on stdout: what was promoted, and where the results are.
    print(f"\n{name} version {promotion.version} {verdict}: {promotion.decision.reason}.")
    if promotion.alias_version:
        print(f"{name}@{settings.model_alias} -> version {promotion.alias_version}")
    print(where_results_went(settings))
    return 0 if all(r.status == RunStatus.to_string(RunStatus.FINISHED) for r in results) else 1
