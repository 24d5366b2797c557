r"""The measured flywheel: people correct a writing style the model misreads, the trainer learns it.

Against a running stack whose production model exists (``docker compose up -d --wait`` and
``docker compose run --rm trainer`` once):

    .venv/bin/python benchmarks/flywheel.py --frontend http://localhost \
        --tracking-uri http://localhost:5000 --retrain "docker compose run --rm trainer"

1. Accuracy of the production model on *fresh* drawings of two forms neither drawn set has
   (trainer.datagen.allographs.UNSEEN_ALLOGRAPHS: a two written as a crossed Z, a seven with a hooked foot).
2. ``--sent`` other drawings of those forms go through the page's API, each corrected with its digit.
3. The retrain command runs (the trainer reads the corrections from the prediction database).
4. Once the stack serves the new version: the fresh drawings again, and MNIST test of both versions.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from mlflow import MlflowClient

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from devkit.flywheel import accuracy, correct, flywheel_drawings, wait_for_version  # noqa: E402 - after the path set-up


def main() -> int:
    """Run the loop once and print the before/after table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frontend", default="http://localhost")
    parser.add_argument("--tracking-uri", default="http://localhost:5000")
    parser.add_argument("--retrain", default="docker compose run --rm trainer", help="shell command")
    parser.add_argument("--sent", type=int, default=150, help="corrected drawings per form")
    parser.add_argument("--fresh", type=int, default=200, help="fresh drawings per form, measured")
    parser.add_argument("--model", default="Mnist_Best_Model")
    parser.add_argument("--alias", default="production")
    args = parser.parse_args()

    sent, fresh = flywheel_drawings(args.sent, args.fresh)
    forms = list(fresh)
    client = MlflowClient(args.tracking_uri, args.tracking_uri)
    before_version = client.get_model_version_by_alias(args.model, args.alias)
    wait_for_version(args.frontend, before_version.version)
    before = {form: accuracy(args.frontend, drawings) for form, drawings in fresh.items()}

    wrong = correct(args.frontend, sent)
    print(f"sent {len(sent)} drawings with corrections; version {before_version.version} misread {wrong}")
    started = time.monotonic()
    retrain = subprocess.run(args.retrain, shell=True, capture_output=True, text=True)
    print(retrain.stdout[-1500:])
    if retrain.returncode != 0:
        print(retrain.stderr[-3000:], file=sys.stderr)
        return 1
    print(f"retraining took {time.monotonic() - started:.0f} s")
    after_version = client.get_model_version_by_alias(args.model, args.alias)
    wait_for_version(args.frontend, after_version.version)  # the predictor polls the registry
    after = {form: accuracy(args.frontend, drawings) for form, drawings in fresh.items()}

    def mnist(version) -> str:
        return f"{float(version.tags['test_accuracy']) * 100:.2f} %"

    print(f"\n| | version {before_version.version} (before) | version {after_version.version} (after) |")
    print("|---|---|---|")
    for form in forms:
        label, name = form
        print(f"| fresh {name} {label}s ({args.fresh}) | {before[form] * 100:.1f} % | {after[form] * 100:.1f} % |")
    print(f"| MNIST test | {mnist(before_version)} | {mnist(after_version)} |")
    real = [f"{float(v.tags.get('real_pen_accuracy', 'nan')) * 100:.2f} %" for v in (before_version, after_version)]
    print(f"| real pens (UJI) | {real[0]} | {real[1]} |")
    drawn = [f"{float(v.tags['synthetic_drawn_accuracy']) * 100:.2f} %" for v in (before_version, after_version)]
    print(f"| synthetic drawn-digit set | {drawn[0]} | {drawn[1]} |")
    if "feedback_accuracy" in after_version.tags:
        print(f"| held-out feedback (gate) | – | {float(after_version.tags['feedback_accuracy']) * 100:.1f} % |")
    promoted = after_version.version != before_version.version
    print(f"\npromoted: {promoted}; {after_version.tags.get('promotion', '')}")
    return 0 if promoted else 1


if __name__ == "__main__":
    sys.exit(main())
