"""Champion/challenger promotion of the best run to ``<model name>@<alias>`` in the MLflow registry.

Registry stages are deprecated in MLflow 3: the alias is what the predictor follows. Every best
run becomes a registered version (the registry is the history); only a version that beats the
current champion on the same test set gets the alias, unless promotion is forced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from trainer.tags import ONNX_URI_TAG, RUN_KEY_TAG, STAGE_TAG, TEST_ACCURACY_TAG, TEST_DIGEST_TAG


@dataclass(frozen=True)
class Candidate:
    """A finished run that may be promoted."""

    run_id: str
    run_key: str
    title: str
    test_accuracy: float
    test_digest: str
    keras_uri: str
    onnx_uri: str


@dataclass(frozen=True)
class Champion:
    """The version currently holding the alias, with its accuracy on the candidate's test set."""

    version: str
    test_accuracy: float | None  # None: it could not be evaluated on this test set


@dataclass(frozen=True)
class Decision:
    """Whether to move the alias, and the sentence that explains why."""

    promote: bool
    reason: str


@dataclass(frozen=True)
class PromotionResult:
    """What the registry looks like after promotion."""

    decision: Decision
    version: str
    alias_version: str | None


def select_best(candidates: Sequence[Candidate]) -> Candidate:
    """Return the candidate with the highest test accuracy; the earlier (cheaper) run wins ties."""
    if not candidates:
        raise ValueError("no finished run to choose from")
    best = candidates[0]
    for candidate in candidates[1:]:
        if candidate.test_accuracy > best.test_accuracy:
            best = candidate
    return best


def decide(candidate: Candidate, champion: Champion | None, force: bool) -> Decision:
    """Champion/challenger rule: promote only a strictly better model, unless forced."""
    acc = f"{candidate.test_accuracy:.4f}"
    if champion is None:
        return Decision(True, f"no version holds the alias yet; promoting {candidate.run_key} ({acc})")
    if force:
        return Decision(True, f"forced promotion over version {champion.version} ({acc})")
    if champion.test_accuracy is None:
        return Decision(True, f"version {champion.version} could not be evaluated on this test set; promoting ({acc})")
    if candidate.test_accuracy > champion.test_accuracy:
        return Decision(
            True,
            f"{candidate.run_key} ({acc}) beats version {champion.version} "
            f"({champion.test_accuracy:.4f}) on the same test set",
        )
    return Decision(
        False,
        f"version {champion.version} ({champion.test_accuracy:.4f}) is at least as good as "
        f"{candidate.run_key} ({acc}) on the same test set; keeping it (use --force-promote to override)",
    )


def current_champion(
    client: MlflowClient,
    model_name: str,
    alias: str,
    test_digest: str,
    evaluate: Callable[[str], float],
) -> Champion | None:
    """Find the version holding ``alias`` and its accuracy on the test set with ``test_digest``.

    Accuracy recorded on the same test set (same digest) is reused; otherwise ``evaluate`` is given
    the champion's model URI to measure it afresh. ``None`` when no version holds the alias.
    """
    try:
        version = client.get_model_version_by_alias(model_name, alias)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"):
            return None
        raise
    recorded = version.tags.get(TEST_ACCURACY_TAG)
    if recorded is not None and version.tags.get(TEST_DIGEST_TAG) == test_digest:
        return Champion(version.version, float(recorded))
    try:
        return Champion(version.version, evaluate(f"models:/{model_name}/{version.version}"))
    except Exception as exc:  # noqa: BLE001 - a broken champion must not block a good challenger
        print(f"  could not evaluate champion version {version.version}: {exc}")
        return Champion(version.version, None)


def register_and_promote(
    client: MlflowClient,
    candidate: Candidate,
    model_name: str,
    alias: str,
    force: bool,
    evaluate: Callable[[str], float],
) -> PromotionResult:
    """Register ``candidate`` as a new version and move ``alias`` to it if it wins.

    Tags that the predictor needs (the ONNX URI) are written before the alias moves, so a version
    is never served half-described.
    """
    champion = current_champion(client, model_name, alias, candidate.test_digest, evaluate)
    decision = decide(candidate, champion, force)
    version: ModelVersion = mlflow.register_model(
        candidate.keras_uri,
        model_name,
        tags={
            ONNX_URI_TAG: candidate.onnx_uri,
            TEST_ACCURACY_TAG: f"{candidate.test_accuracy:.6f}",
            TEST_DIGEST_TAG: candidate.test_digest,
            RUN_KEY_TAG: candidate.run_key,
            "promotion": decision.reason,
        },
    )
    reason = decision.reason[:1].upper() + decision.reason[1:]
    description = f"{candidate.title}: test accuracy {candidate.test_accuracy:.4f}. {reason}."
    client.update_model_version(model_name, version.version, description=description)
    if not decision.promote:
        client.set_model_version_tag(model_name, version.version, STAGE_TAG, "Challenger")
        return PromotionResult(decision, version.version, champion.version if champion else None)
    client.set_model_version_tag(model_name, version.version, STAGE_TAG, "Production")
    client.set_registered_model_alias(model_name, alias, version.version)
    if champion is not None and champion.version != version.version:
        client.set_model_version_tag(model_name, champion.version, STAGE_TAG, "Archived")
    return PromotionResult(decision, version.version, version.version)
