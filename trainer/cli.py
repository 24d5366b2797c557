"""The command line: ``python -m trainer [train|report] [flags]``; flags override the environment.

Each flag names a field of ``trainer.settings``; its help shows the environment variable and the
default from there, so neither is written twice.
"""

from __future__ import annotations

import argparse

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from trainer.settings import ReportSettings, StoreSettings, TrainerSettings

# flag -> settings field, for the flags both commands have.
STORE_FLAGS = {
    "--tracking-uri": "mlflow_tracking_uri",
    "--local-store": "trainer_local_store",
    "--experiment": "mlflow_experiment_name",
    "--model-name": "registered_model_name",
    "--alias": "model_alias",
    "--tracking-wait": "tracking_wait_seconds",
}
TRAIN_FLAGS = {
    "--mnist-path": "mnist_path",
    "--train-limit": "mnist_train_limit",
    "--test-limit": "mnist_test_limit",
    "--validation-fraction": "validation_fraction",
    "--epochs": "trainer_epochs",
    "--runs": "trainer_runs",
    "--seed": "trainer_seed",
    "--feedback-weight": "feedback_weight",
}
REPORT_FLAGS = {"--output-dir": "report_dir"}


def _add(parser: argparse.ArgumentParser, settings: type[BaseSettings], flag: str, name: str, **kwargs) -> None:
    info = settings.model_fields[name]
    default = "unset" if info.default in ("", None) else info.default
    kwargs.setdefault("metavar", name.upper())
    parser.add_argument(
        flag,
        dest=name,
        default=argparse.SUPPRESS,
        **kwargs,
        help=f"{info.description} (env {name.upper()}; default {default})",
    )


def build_parser() -> argparse.ArgumentParser:
    """``train`` (the default) and ``report``, with their flags."""
    parser = argparse.ArgumentParser(
        prog="python -m trainer",
        description="Train three tracked MNIST CNNs and promote the best, or write the experiment report.",
    )
    commands = parser.add_subparsers(dest="command", metavar="{train,report}")
    train = commands.add_parser("train", help="train the three runs and promote the best (the default)")
    report = commands.add_parser("report", help="write the experiment report from the tracking server")
    for command, settings, flags in ((train, TrainerSettings, TRAIN_FLAGS), (report, ReportSettings, REPORT_FLAGS)):
        for flag, name in {**STORE_FLAGS, **flags}.items():
            _add(command, settings, flag, name)
    _add(train, TrainerSettings, "--force-promote", "force_promote", action="store_const", const=True, metavar=None)
    _add(
        report,
        ReportSettings,
        "--no-log-artifacts",
        "report_log_artifacts",
        action="store_const",
        const=False,
        metavar=None,
    )
    return parser


def parse(argv: list[str]) -> tuple[str, StoreSettings]:
    """The command and its settings: the environment, overridden by flags. Bad values exit 2 with a message."""
    parser = build_parser()
    if not argv or argv[0] not in ("train", "report", "-h", "--help"):
        argv = ["train", *argv]  # `python -m trainer --epochs 3` trains
    args = vars(parser.parse_args(argv))
    command = args.pop("command")
    settings_class = ReportSettings if command == "report" else TrainerSettings
    try:
        return command, settings_class(**args)
    except ValidationError as exc:
        problems = (f"{e['loc'][0].upper()}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        parser.error("; ".join(problems))
