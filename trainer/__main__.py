"""``python -m trainer [train|report]``: train the three runs (the default), or write the report."""

import sys

from trainer.cli import parse

if __name__ == "__main__":
    command, settings = parse(sys.argv[1:])
    if command == "report":
        from trainer.report import run_report as run
    else:
        from trainer.train import run_training as run  # imports TensorFlow: only when training
    sys.exit(run(settings))
