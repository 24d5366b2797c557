"""Keeping the served model current: serve the cached copy at once, then follow the registry.

A background thread in each gunicorn worker polls the alias and swaps in new versions; a version
that fails to load never replaces the one being served.
"""

from __future__ import annotations

import logging
import threading
import time

from predictor.errors import short
from predictor.model_cache import ModelCache
from predictor.registry import Registry, RegistryError
from predictor.served_model import LoadedModel, stamped
from predictor.settings import PredictorSettings

log = logging.getLogger("predictor.model")


class ModelManager:
    """Holds the served model and keeps it current; safe to read from any thread.

    Swapping is a single reference assignment, so a request sees either the old or the new model,
    never a half-loaded one.
    """

    def __init__(self, settings: PredictorSettings, registry: Registry | None = None):
        self.settings = settings
        self.registry = registry or Registry(settings)
        self.cache = ModelCache(settings.model_cache_dir / "current")
        self.model: LoadedModel | None = None
        self.problem = "the model is loading"
        self._failed: tuple[str | None, float] = (None, 0.0)  # the last version that failed to load, and when

    def start(self) -> None:
        """Serve the cached model at once if there is one, then follow the registry in the background."""
        if self.model is None:
            cached = self.cache.load()
            if cached is not None:
                self.model = cached
                log.info(
                    "serving cached %s version %s until the registry answers", cached.info.name, cached.info.version
                )
        threading.Thread(target=self._follow, name="model-follower", daemon=True).start()

    def refresh(self) -> None:
        """Check the alias once; load and swap in a new version if it moved."""
        try:
            wanted = self.registry.current()
        except RegistryError as exc:  # keep serving what we have, and say why it may be stale
            self.problem = str(exc)
            return
        failed_version, failed_at = self._failed
        if wanted.version == failed_version and time.monotonic() - failed_at < self.settings.model_failed_retry_seconds:
            return  # known broken: keep its problem on show, and don't download it again every poll
        current = self.model
        if current is not None and current.info.version == wanted.version:
            self.problem = ""  # the registry answers and we serve what it says: nothing to report
            if current.info.source != "registry":
                # the cached copy is this very version: adopt the registry's facts without reloading
                self.model = LoadedModel(info=stamped(wanted, source="registry"), session=current.session)
            return
        try:
            model = self.registry.load(wanted, self.cache)
        except Exception as exc:  # noqa: BLE001 - a broken version must not replace a working one
            self._failed = (wanted.version, time.monotonic())
            self.problem = f"{wanted.name} version {wanted.version} failed to load: {short(exc)}"
            log.error("%s; still serving %s", self.problem, f"version {current.info.version}" if current else "nothing")
            return
        self.model = model
        self.problem = ""
        log.info("now serving %s version %s (run %s)", wanted.name, wanted.version, wanted.run_id)

    def next_delay(self, previous: float) -> float:
        """Seconds until the next check of the alias, given the wait before the last one.

        While the registry's version is served: the poll interval. While it is not (nothing
        trained yet, or the registry down): a doubling back-off, never longer than the poll
        interval, so a worker with no model never checks less often than one with a model.
        """
        if self.model is not None and self.model.info.source == "registry":
            return self.settings.model_poll_seconds
        return min(previous * 2, self.settings.model_retry_max_seconds, self.settings.model_poll_seconds)

    def _follow(self) -> None:
        delay = self.settings.model_retry_min_seconds
        while True:
            try:
                self.refresh()
            except Exception:
                log.exception("checking the registry failed")
            delay = self.next_delay(delay)
            time.sleep(delay)
