"""Container health check: exit 0 when the MLflow server answers ``/health`` (slim images have no curl)."""

import sys
import urllib.request

from tracking.settings import TrackingSettings


def main() -> int:
    """Return 0 if the local server answers 200 within the timeout, 1 otherwise."""
    url = f"http://127.0.0.1:{TrackingSettings().mlflow_port}/health"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
