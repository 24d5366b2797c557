"""``python -m trainer [train|report]``: train the three runs (the default), or write the report.

Progress and errors are log records on stderr; the results (the runs' table, the promotion, where
they went, the report's paths) are the command's output on stdout.
"""

import logging
import sys

from trainer.cli import parse

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    command, settings = parse(sys.argv[1:])
    if command == "report":
        from trainer.report_command import run_report as run
    else:
        from trainer.command import run_training as run  # imports TensorFlow: only when training
    sys.exit(run(settings))
