"""compose.yaml against the services' settings: it passes only variables they read, to addresses that exist."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import yaml

from devkit.processes import REPO_ROOT
from predictor.settings import PredictorSettings
from tracking.settings import TrackingSettings
from trainer.settings import ReportSettings, TrainerSettings

COMPOSE = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
# MLflow reads these itself: the server its telemetry switch, clients their login and telemetry switch.
MLFLOW_OWN = {"MLFLOW_DISABLE_TELEMETRY", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"}


def environment(service: str) -> dict[str, str]:
    return {key: str(value) for key, value in (SERVICES[service].get("environment") or {}).items()}


def variables(*settings) -> set[str]:
    """The environment variables settings classes read: their fields' names, upper case."""
    return {name.upper() for cls in settings for name in cls.model_fields}


def test_the_product_services_exist_and_the_trainer_is_one_shot():
    expected = {"postgres", "prediction-db", "minio", "tracking", "trainer", "predictor", "frontend", "prometheus"}
    assert expected == set(SERVICES)
    assert SERVICES["trainer"]["profiles"], "`docker compose up` must not start the trainer"
    assert "restart" not in SERVICES["trainer"]


def test_each_service_is_passed_only_variables_its_settings_read():
    readers = {
        "tracking": variables(TrackingSettings),
        "trainer": variables(TrainerSettings, ReportSettings),
        "predictor": variables(PredictorSettings),
    }
    for service, reads in readers.items():
        unused = set(environment(service)) - reads - MLFLOW_OWN
        assert not unused, f"compose passes {service} variables it never reads: {unused}"
    assert {"POSTGRES_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(environment("tracking"))


def test_the_predictor_serves_what_the_trainer_registers():
    trainer, predictor = TrainerSettings.model_fields, PredictorSettings.model_fields
    assert predictor["model_name"].default == trainer["registered_model_name"].default
    assert predictor["model_alias"].default == trainer["model_alias"].default


def test_frontend_environment_fills_the_nginx_template_and_reaches_the_predictor():
    template = (REPO_ROOT / "frontend" / "templates" / "default.conf.template").read_text()
    template_variables = set(re.findall(r"\$\{(\w+)\}", template))
    assert set(environment("frontend")) <= template_variables
    dockerfile = (REPO_ROOT / "frontend" / "Dockerfile").read_text()
    assert all(f"{name}=" in dockerfile for name in template_variables), "every template variable has an image default"
    host, port = re.search(r"PREDICTOR_UPSTREAM=(\S+)", dockerfile).group(1).split(":")
    assert host in SERVICES and int(port) == PredictorSettings.model_fields["predictor_port"].default
    # The published port goes to the port the image's nginx listens on (unprivileged: above 1024).
    listen = re.search(r"LISTEN_ADDRESS=(\d+)", dockerfile).group(1)
    assert int(listen) > 1024
    assert [str(p).rsplit(":", 1)[1] for p in SERVICES["frontend"]["ports"]] == [listen]


def test_addresses_in_the_environment_name_real_services_and_ports():
    tracking = environment("tracking")
    assert tracking["POSTGRES_HOST"] in SERVICES
    s3 = urlparse(tracking["MLFLOW_S3_ENDPOINT_URL"])
    assert s3.hostname in SERVICES and s3.port == 9000
    tracking_port = TrackingSettings.model_fields["mlflow_port"].default
    for client in ("trainer", "predictor"):
        uri = urlparse(environment(client)["MLFLOW_TRACKING_URI"])
        assert uri.hostname == "tracking" and uri.port == tracking_port, client
    assert [str(port).rsplit(":", 1)[1] for port in SERVICES["tracking"]["ports"]] == [str(tracking_port)]
    assert "tracking" in TrackingSettings.model_fields["mlflow_allowed_hosts"].default.split(",")


def test_the_prediction_database_is_made_for_the_predictor_as_it_connects():
    made, predictor = environment("prediction-db"), environment("predictor")
    fields = PredictorSettings.model_fields
    assert made["PREDICTION_DB_NAME"] == fields["prediction_db_name"].default
    assert made["PREDICTION_DB_USER"] == fields["prediction_db_user"].default
    assert made["PREDICTION_DB_PASSWORD"] == predictor["PREDICTION_DB_PASSWORD"]
    assert predictor["PREDICTION_DB_HOST"] == made["PGHOST"] == "postgres"
    assert made["PGPASSWORD"] == environment("postgres")["POSTGRES_PASSWORD"]
    assert SERVICES["predictor"]["depends_on"]["prediction-db"]["condition"] == "service_completed_successfully"
    assert "./database:/database:ro" in SERVICES["prediction-db"]["volumes"]
    assert set(SERVICES["predictor"]["networks"]) == {"app", "predictions"}, "not the stores network: no S3"


def test_credentials_are_shared_not_duplicated():
    postgres, tracking = environment("postgres"), environment("tracking")
    for name in ("POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"):
        assert postgres[name] == tracking[name]
    minio = environment("minio")
    assert tracking["AWS_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"]
    assert tracking["AWS_SECRET_ACCESS_KEY"] == minio["MINIO_ROOT_PASSWORD"]
    assert "change-me" in postgres["POSTGRES_PASSWORD"], "default secrets must be obvious placeholders"


def test_stores_are_on_an_internal_network_and_only_ui_ports_are_published():
    assert COMPOSE["networks"]["stores"]["internal"] is True
    assert COMPOSE["networks"]["predictions"]["internal"] is True
    assert SERVICES["minio"]["networks"] == ["stores"]
    assert SERVICES["postgres"]["networks"] == ["stores", "predictions"]
    for name in ("postgres", "minio"):
        assert "ports" not in SERVICES[name]
    published = {name for name, service in SERVICES.items() if service.get("ports")}
    assert published <= {"tracking", "frontend", "prometheus"}
    for name in published:
        assert all(str(port).startswith("${PUBLISH_ADDRESS:-127.0.0.1}:") for port in SERVICES[name]["ports"])


def has_health_check(name: str, service: dict) -> bool:
    if "healthcheck" in service:
        return True
    dockerfile = (REPO_ROOT / name / "Dockerfile").read_text() if "build" in service else ""
    return "HEALTHCHECK" in dockerfile and "HEALTHCHECK NONE" not in dockerfile


ONE_SHOT = {"trainer", "prediction-db"}


def test_long_running_services_have_health_checks_and_wait_for_dependencies():
    for name, service in SERVICES.items():
        if name not in ONE_SHOT:
            assert has_health_check(name, service), name
        for dependency, condition in (service.get("depends_on") or {}).items():
            expected = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            assert condition["condition"] == expected, (name, dependency)


def test_every_built_image_also_has_an_image_name():
    for name, service in SERVICES.items():
        if "build" in service:
            assert service["image"].endswith(f":{name}${{IMAGE_TAG_SUFFIX:-}}"), name


def test_env_example_names_every_compose_variable():
    used = set(re.findall(r"(?<!\$)\$\{(\w+)", (REPO_ROOT / "compose.yaml").read_text()))  # $${X}: the container's
    documented = set(re.findall(r"^(\w+)=", (REPO_ROOT / ".env.example").read_text(), re.MULTILINE))
    assert used == documented


def test_prometheus_scrapes_the_services_on_their_ports_and_loads_the_rules():
    config = yaml.safe_load((REPO_ROOT / "prometheus" / "prometheus.yml").read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert targets == {
        "predictor": [f"predictor:{PredictorSettings.model_fields['predictor_port'].default}"],
        "tracking": [f"tracking:{TrackingSettings.model_fields['mlflow_port'].default}"],
    }
    assert config["rule_files"] == ["alerts.yml"]
    prometheus = SERVICES["prometheus"]
    assert "./prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    for job in targets:
        assert job in SERVICES and set(SERVICES[job]["networks"]) & set(prometheus["networks"]), job
