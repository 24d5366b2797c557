"""compose.yaml, .env.example and the services' settings modules must agree with each other."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from urllib.parse import urlparse

import pytest
import yaml

from tests.conftest import REPO_ROOT

COMPOSE = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
# Variables read by MLflow itself (not by our settings modules) that compose passes through.
MLFLOW_OWN = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION"}
# MLflow's client reads these itself (basic-auth credentials); the services pass them through.
MLFLOW_CLIENT_OWN = {"MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"}


class RecordingEnv(dict):
    """An environment that remembers every variable name looked up in it."""

    def __init__(self, values: dict[str, str]):
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)


def reads_of(load_settings: Callable[[Mapping[str, str]], object], required: tuple[str, ...] = ()) -> set[str]:
    """Every variable a service's ``load_settings(env)`` looks up."""
    env = RecordingEnv(dict.fromkeys(required, "x"))
    load_settings(env)
    return env.read


def tracking_reads() -> set[str]:
    from tracking.settings import load_settings

    return reads_of(load_settings, ("POSTGRES_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"))


def trainer_reads(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """What the trainer image's two commands read: training, and the report (python -m trainer.report)."""
    from trainer.settings import load_report_settings, load_settings

    env = RecordingEnv({})
    monkeypatch.setattr(os, "environ", env)
    load_settings([])
    load_report_settings([])
    return env.read


def environment(service: str) -> dict[str, str]:
    return {key: str(value) for key, value in (SERVICES[service].get("environment") or {}).items()}


def default_of(value: str) -> str:
    """The default of a ``${VAR:-default}`` value, or the literal value."""
    match = re.fullmatch(r"\$\{\w+:-(.*)\}", value)
    return match.group(1) if match else value


def test_the_product_services_exist_and_the_trainer_is_one_shot():
    assert {"postgres", "minio", "tracking", "trainer", "predictor", "frontend"} == set(SERVICES)
    assert SERVICES["trainer"]["profiles"], "`docker compose up` must not start the trainer"
    assert "restart" not in SERVICES["trainer"]


def test_tracking_environment_is_exactly_what_the_entrypoint_reads():
    reads = tracking_reads()
    passed = set(environment("tracking"))
    assert passed - MLFLOW_OWN <= reads, f"compose passes unused variables: {passed - MLFLOW_OWN - reads}"
    assert {"POSTGRES_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= passed


def test_trainer_environment_is_read_by_the_trainer(monkeypatch):
    reads = trainer_reads(monkeypatch)
    passed = set(environment("trainer")) - MLFLOW_CLIENT_OWN
    assert passed <= reads, f"compose passes unused variables: {passed - reads}"


def predictor_reads() -> set[str]:
    from predictor.settings import load_settings

    return reads_of(load_settings)


def test_predictor_environment_is_read_by_the_predictor():
    passed = set(environment("predictor")) - MLFLOW_CLIENT_OWN
    reads = predictor_reads()
    assert passed <= reads, f"compose passes unused variables: {passed - reads}"
    assert urlparse(environment("predictor")["MLFLOW_TRACKING_URI"]).hostname == "tracking"
    assert environment("predictor")["MODEL_NAME"] == environment("trainer")["REGISTERED_MODEL_NAME"]
    assert environment("predictor")["MODEL_ALIAS"] == environment("trainer")["MODEL_ALIAS"]


def test_frontend_environment_fills_the_nginx_template_and_reaches_the_predictor():
    template = (REPO_ROOT / "frontend" / "templates" / "default.conf.template").read_text()
    variables = set(re.findall(r"\$\{(\w+)\}", template))
    frontend = environment("frontend")
    assert set(frontend) <= variables
    dockerfile = (REPO_ROOT / "frontend" / "Dockerfile").read_text()
    assert all(f"{name}=" in dockerfile for name in variables), "every template variable has an image default"
    host, port = frontend["PREDICTOR_UPSTREAM"].split(":")
    from predictor.settings import load_settings

    assert host in SERVICES and int(port) == load_settings({}).port
    assert default_of(frontend["MAX_BODY_BYTES"]) == default_of(environment("predictor")["MAX_BODY_BYTES"])
    # The published port goes to the port the image's nginx listens on (unprivileged: above 1024).
    listen = re.search(r"LISTEN_ADDRESS=(\d+)", dockerfile).group(1)
    assert int(listen) > 1024
    assert [str(p).rsplit(":", 1)[1] for p in SERVICES["frontend"]["ports"]] == [listen]


def test_addresses_in_the_environment_name_real_services_and_ports():
    tracking_env = environment("tracking")
    assert tracking_env["POSTGRES_HOST"] in SERVICES
    s3 = urlparse(default_of(tracking_env["MLFLOW_S3_ENDPOINT_URL"]))
    assert s3.hostname in SERVICES and s3.port == 9000
    uri = urlparse(environment("trainer")["MLFLOW_TRACKING_URI"])
    assert uri.hostname == "tracking" and uri.port == int(tracking_env["MLFLOW_PORT"])
    published = [str(port).rsplit(":", 1)[1] for port in SERVICES["tracking"]["ports"]]
    assert published == [tracking_env["MLFLOW_PORT"]]
    assert "tracking" in default_of(tracking_env["MLFLOW_ALLOWED_HOSTS"]).split(",")


def test_credentials_are_shared_not_duplicated():
    pg, tracking = environment("postgres"), environment("tracking")
    for name in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"):
        assert pg[name] == tracking[name]
    minio = environment("minio")
    assert tracking["AWS_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"]
    assert tracking["AWS_SECRET_ACCESS_KEY"] == minio["MINIO_ROOT_PASSWORD"]
    assert "change-me" in default_of(pg["POSTGRES_PASSWORD"]), "default secrets must be obvious placeholders"


def test_stores_are_on_an_internal_network_and_only_ui_ports_are_published():
    assert COMPOSE["networks"]["stores"]["internal"] is True
    for name in ("postgres", "minio"):
        assert SERVICES[name]["networks"] == ["stores"]
        assert "ports" not in SERVICES[name]
    published = {name for name, service in SERVICES.items() if service.get("ports")}
    assert published <= {"tracking", "frontend"}


def has_health_check(name: str, service: dict) -> bool:
    if "healthcheck" in service:
        return True
    dockerfile = (REPO_ROOT / name / "Dockerfile").read_text() if "build" in service else ""
    return "HEALTHCHECK" in dockerfile and "HEALTHCHECK NONE" not in dockerfile


def test_long_running_services_have_health_checks_and_wait_for_dependencies():
    for name, service in SERVICES.items():
        if name != "trainer":
            assert has_health_check(name, service), name
        for dependency in (service.get("depends_on") or {}).values():
            assert dependency["condition"] == "service_healthy"


def test_every_built_image_also_has_an_image_name():
    for name, service in SERVICES.items():
        if "build" in service:
            assert service["image"].endswith(f":{name}${{IMAGE_TAG_SUFFIX:-}}"), name


def test_env_example_documents_every_compose_variable():
    used = set(re.findall(r"\$\{(\w+)", (REPO_ROOT / "compose.yaml").read_text()))
    documented = set(re.findall(r"^(\w+)=", (REPO_ROOT / ".env.example").read_text(), re.MULTILINE))
    assert used == documented
