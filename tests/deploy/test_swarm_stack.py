"""deploy/swarm/stack.yaml read as a file: what Swarm needs and what this machine's kernel allows.

The stack itself runs for real in tests/swarm (``make test-swarm``); these catch a slip in seconds.
"""

import subprocess
from pathlib import Path

import pytest
import yaml

from devkit.processes import REPO_ROOT

SWARM = REPO_ROOT / "deploy" / "swarm"
STACK = yaml.safe_load((SWARM / "stack.yaml").read_text())
SERVICES = STACK["services"]
LONG_RUNNING = [name for name, spec in SERVICES.items() if spec.get("deploy", {}).get("mode") != "replicated-job"]


def test_nothing_swarm_ignores_or_refuses():
    for name, spec in SERVICES.items():
        for key in ("build", "depends_on", "profiles", "container_name", "restart"):
            assert key not in spec, f"{name}: Swarm ignores or refuses {key}"
    assert "name" not in STACK


@pytest.mark.parametrize("service", LONG_RUNNING)
def test_services_use_dns_round_robin_and_publish_in_host_mode(service):
    # No IPVS in this kernel: a virtual IP would not answer, nor would the routing mesh.
    spec = SERVICES[service]
    assert spec["deploy"]["endpoint_mode"] == "dnsrr"
    for port in spec.get("ports", []):
        assert isinstance(port, dict) and port["mode"] == "host", f"{service}: {port}"


def test_only_the_page_and_the_mlflow_ui_are_published_and_the_ui_needs_a_login():
    published = {name for name, spec in SERVICES.items() if spec.get("ports")}
    assert published == {"frontend", "tracking"}
    tracking = SERVICES["tracking"]
    assert {"source": "mlflow_admin_password", "target": "MLFLOW_AUTH_ADMIN_PASSWORD"} in tracking["secrets"]
    assert tracking["environment"]["PUBLISH_ADDRESS"] == "0.0.0.0"  # so it refuses compose's default passwords


def test_no_password_in_the_file_and_every_secret_made_outside_it():
    text = (SWARM / "stack.yaml").read_text().lower()
    assert "change-me" not in text
    for name, spec in SERVICES.items():
        for variable in spec.get("environment", {}):
            assert not any(word in variable for word in ("PASSWORD", "SECRET", "ACCESS_KEY")), (name, variable)
    assert all(secret["external"] for secret in STACK["secrets"].values())
    created = (SWARM / "deploy.sh").read_text()
    for secret in STACK["secrets"].values():
        assert secret["name"].removeprefix("mnist_") in created


def test_a_service_with_secrets_starts_through_the_script_that_exports_them():
    for name, spec in SERVICES.items():
        if spec.get("secrets"):
            assert spec["entrypoint"][:2] == ["sh", "/run/with-secrets.sh"], name
            assert {"source": "with_secrets", "target": "/run/with-secrets.sh"} in spec["configs"], name


def test_configs_are_files_of_the_repository_not_bind_mounts():
    for config in STACK["configs"].values():
        assert (SWARM / config["file"]).resolve().is_file(), config
    for name, spec in SERVICES.items():
        for volume in spec.get("volumes", []):
            assert isinstance(volume, str) and not volume.startswith((".", "/")), f"{name} binds {volume}"


def test_stores_stay_on_the_labelled_node_and_setup_and_training_run_as_retrying_jobs():
    for store in ("postgres", "minio", "tracking"):
        constraints = SERVICES[store]["deploy"]["placement"]["constraints"]
        assert constraints == ["node.labels.mnist-mlops.stores == true"], store
    for job in ("prediction-db", "trainer"):
        deploy = SERVICES[job]["deploy"]
        assert deploy["mode"] == "replicated-job"
        assert deploy["restart_policy"]["condition"] == "on-failure"


def test_the_predictor_spreads_and_a_failing_release_rolls_back():
    deploy = SERVICES["predictor"]["deploy"]
    assert deploy["placement"]["preferences"] == [{"spread": "node.id"}]
    assert deploy["update_config"]["failure_action"] == "rollback"
    assert deploy["update_config"]["order"] == "start-first"  # not published: two tasks can share a node
    # The frontend holds a host port on every node: the old task must stop before the new one starts.
    assert SERVICES["frontend"]["deploy"]["mode"] == "global"
    assert SERVICES["frontend"]["deploy"]["update_config"]["order"] == "stop-first"


def test_the_internal_networks_mirror_compose():
    compose = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())
    for name, spec in SERVICES.items():
        if name in compose["services"]:
            assert set(spec["networks"]) == set(compose["services"][name]["networks"]), name
    for network in ("stores", "predictions"):
        assert STACK["networks"][network]["internal"] is True


def test_the_secrets_script_exports_each_file_under_its_name(tmp_path: Path):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "SOME_PASSWORD").write_text("s3cr3t with space")
    script = (SWARM / "with-secrets.sh").read_text().replace("/run/secrets", str(secrets))
    (tmp_path / "with-secrets.sh").write_text(script)
    out = subprocess.run(
        ["sh", str(tmp_path / "with-secrets.sh"), "sh", "-c", 'printf %s "$SOME_PASSWORD"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == "s3cr3t with space"
