"""``python -m predictor``: Flask's development server (gunicorn serves it in production)."""

import logging

from predictor.app import create_app
from predictor.settings import load_settings

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    create_app(settings).run(host=settings.predictor_host, port=settings.predictor_port, threaded=True)
