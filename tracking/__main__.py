"""Entry point for ``python -m tracking``: prepare the stores, then become ``mlflow server``."""

import sys

from tracking.entrypoint import main

if __name__ == "__main__":
    sys.exit(main())
