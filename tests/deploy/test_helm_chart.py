"""The Kubernetes chart: helm lint, helm template over several values files, the schemas of a current
Kubernetes (kubernetes-validate, strict), and what the rendered objects must say. No cluster runs
here (docs/scale-out.md); these checks are what can be proven without one.
"""

from __future__ import annotations

import kubernetes_validate
import pytest

from devkit.processes import REPO_ROOT
from tests.deploy.conftest import CHART, VALUES_FILES, render, run_helm

KUBERNETES_VERSION = "1.35.0"
IDS = [path.name if path else "defaults" for path in VALUES_FILES]


def pod_specs(objects: list[dict]) -> dict[str, dict]:
    """Every pod template, by "Kind/name"."""
    specs = {}
    for obj in objects:
        spec = obj.get("spec", {})
        if obj["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        if "template" in spec:
            specs[f"{obj['kind']}/{obj['metadata']['name']}"] = spec["template"]["spec"]
    return specs


def by_kind(objects: list[dict], kind: str) -> list[dict]:
    return [obj for obj in objects if obj["kind"] == kind]


@pytest.mark.parametrize("values", VALUES_FILES, ids=IDS)
def test_the_chart_lints_and_renders_valid_objects_for_a_current_kubernetes(helm, values):
    run_helm(helm, "lint", "--strict", str(CHART), *(["-f", str(values)] if values else []))
    objects = render(helm, values)
    assert objects
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_strict_validation_rejects_a_misspelt_field(helm):
    deployment = next(obj for obj in render(helm, None) if obj["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("values", VALUES_FILES, ids=IDS)
def test_no_container_runs_as_root_or_may_gain_privileges(helm, values):
    for name, spec in pod_specs(render(helm, values)).items():
        pod = spec.get("securityContext", {})
        for container in spec["containers"] + spec.get("initContainers", []):
            context = {**pod, **container.get("securityContext", {})}
            assert context.get("runAsNonRoot") is True, name
            assert context.get("runAsUser", 0) != 0, name
            assert context.get("allowPrivilegeEscalation") is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name


@pytest.mark.parametrize("values", VALUES_FILES, ids=IDS)
def test_passwords_come_only_from_the_existing_secret(helm, values):
    objects = render(helm, values, "--set", "existingSecret=team-secrets")
    assert not by_kind(objects, "Secret"), "the chart creates no Secret: passwords are never values"
    for name, spec in pod_specs(objects).items():
        for container in spec["containers"]:
            for env in container.get("env", []):
                if any(word in env["name"] for word in ("PASSWORD", "SECRET", "ACCESS_KEY")):
                    assert "value" not in env, (name, env)
                    assert env["valueFrom"]["secretKeyRef"]["name"] == "team-secrets", (name, env)
    assert "change-me" not in str(objects)


def test_the_autoscaler_targets_the_predictor_deployment(helm):
    objects = render(helm, None)
    (autoscaler,) = by_kind(objects, "HorizontalPodAutoscaler")
    target = autoscaler["spec"]["scaleTargetRef"]
    predictor = next(obj for obj in by_kind(objects, "Deployment") if obj["metadata"]["name"] == target["name"])
    assert target["kind"] == "Deployment"
    assert predictor["metadata"]["labels"]["app.kubernetes.io/component"] == "predictor"
    assert "replicas" not in predictor["spec"], "the autoscaler owns the replica count"
    assert predictor["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    assert autoscaler["spec"]["minReplicas"] >= 2


def test_without_autoscaling_the_predictor_has_a_fixed_replica_count(helm):
    objects = render(helm, CHART / "ci" / "external-stores-values.yaml")
    assert not by_kind(objects, "HorizontalPodAutoscaler")
    predictor = next(obj for obj in by_kind(objects, "Deployment") if obj["metadata"]["name"].endswith("-predictor"))
    assert predictor["spec"]["replicas"] == 3


def test_the_trainer_runs_as_a_job_and_on_a_schedule_when_asked(helm):
    jobs = by_kind(render(helm, None), "Job")
    (job,) = [obj for obj in jobs if obj["metadata"]["name"].startswith("demo-mnist-mlops-trainer")]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["image"].endswith(":trainer")
    objects = render(helm, CHART / "ci" / "retraining-values.yaml")
    (cron,) = by_kind(objects, "CronJob")
    assert cron["spec"]["schedule"] == "0 3 * * 0" and cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":trainer")
    assert not any(obj["metadata"]["name"].startswith("demo-mnist-mlops-trainer") for obj in by_kind(objects, "Job"))


def test_a_migration_job_upgrades_mlflows_schema_with_the_tracking_image(helm):
    (job,) = [obj for obj in by_kind(render(helm, None), "Job") if obj["metadata"]["name"].endswith("-db-migrate")]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["image"].endswith(":tracking")
    assert container["command"] == ["mlflow", "db", "upgrade"]
    assert container["args"][0].startswith("postgresql+psycopg2://mlflow:$(POSTGRES_PASSWORD)@")


def test_every_long_running_container_has_probes(helm):
    for obj in by_kind(render(helm, CHART / "ci" / "demo-values.yaml"), "Deployment"):
        for container in obj["spec"]["template"]["spec"]["containers"]:
            assert "readinessProbe" in container and "livenessProbe" in container, obj["metadata"]["name"]


def test_network_policies_mirror_compose_internal_networks(helm):
    objects = render(helm, CHART / "ci" / "demo-values.yaml")
    allowed = {}
    for policy in by_kind(objects, "NetworkPolicy"):
        target = policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        (rule,) = policy["spec"]["ingress"]
        allowed[target] = {peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for peer in rule["from"]}
    # The stores only from tracking (and its migration); the prediction database's clients too.
    assert allowed["minio"] == {"tracking"}
    assert allowed["postgres"] == {"tracking", "db-migrate", "prediction-db", "predictor", "trainer"}
    assert allowed["tracking"] == {"predictor", "trainer"}
    assert allowed["predictor"] == {"frontend"}
    assert "frontend" not in allowed, "the page is the public face"


def test_the_chart_runs_the_same_prediction_database_script_as_compose():
    chart_copy = (CHART / "files" / "create-prediction-db.sh").read_text()
    assert chart_copy == (REPO_ROOT / "database" / "create-prediction-db.sh").read_text()
