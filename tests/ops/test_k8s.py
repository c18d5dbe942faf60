"""Kubernetes manifests: every resource validates (strictly: unknown fields are errors) against
the Kubernetes OpenAPI schemas shipped by the `kubernetes-validate` package (no download at test
time), and the deployment invariants hold (probes, non-root, one beat, HPA target)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

K8S = Path(__file__).resolve().parents[2] / "ops" / "k8s"
KUBERNETES_VERSION = "1.30.0"


def manifests() -> list[Path]:
    return sorted(path for path in K8S.glob("*.yaml") if path.name != "kustomization.yaml")


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((K8S / name).read_text())
    assert isinstance(document, dict)
    return document


@pytest.mark.parametrize("path", manifests(), ids=lambda path: path.name)
def test_manifest_validates_against_the_kubernetes_schema(path: Path) -> None:
    for document in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_a_broken_manifest() -> None:
    hpa = load("api-hpa.yaml")
    hpa["spec"]["minReplicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(hpa, KUBERNETES_VERSION, strict=True)
    service = load("api-service.yaml")
    service["spec"]["portz"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(service, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    listed = set(load("kustomization.yaml")["resources"])
    expected = {path.name for path in manifests()} - {"secret.example.yaml"}
    assert listed == expected


def test_expected_resources_exist() -> None:
    kinds = {(load(path.name)["kind"], load(path.name)["metadata"]["name"]) for path in manifests()}
    assert {
        ("Deployment", "lms-api"),
        ("Deployment", "lms-worker"),
        ("Deployment", "lms-beat"),
        ("Job", "lms-migrate"),
        ("Service", "lms-api"),
        ("Ingress", "lms"),
        ("HorizontalPodAutoscaler", "lms-api"),
        ("ConfigMap", "lms-config"),
        ("Secret", "lms-secrets"),
    } <= kinds


def _containers(name: str) -> list[dict[str, Any]]:
    return load(name)["spec"]["template"]["spec"]["containers"]


@pytest.mark.parametrize(
    "name",
    ["api-deployment.yaml", "worker-deployment.yaml", "beat-deployment.yaml", "migrate-job.yaml"],
)
def test_workloads_run_unprivileged_with_limits(name: str) -> None:
    pod = load(name)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    for container in pod["containers"]:
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["resources"]["limits"]["memory"]
        sources = {
            ref.get("configMapRef", ref.get("secretRef"))["name"] for ref in container["envFrom"]
        }
        assert sources == {"lms-config", "lms-secrets"}


def test_api_probes_and_autoscaling() -> None:
    (api,) = _containers("api-deployment.yaml")
    assert api["readinessProbe"]["httpGet"]["path"] == "/api/v1/ready"
    assert api["livenessProbe"]["httpGet"]["path"] == "/api/v1/health"
    # Probes carry a Host that TRUSTED_HOSTS accepts; the pod IP would be refused.
    trusted = load("configmap.yaml")["data"]["TRUSTED_HOSTS"].split(",")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        headers = {h["name"]: h["value"] for h in api[probe]["httpGet"]["httpHeaders"]}
        assert headers["Host"] in trusted
    hpa = load("api-hpa.yaml")["spec"]
    assert hpa["scaleTargetRef"]["name"] == "lms-api"
    assert hpa["minReplicas"] >= 2 and hpa["maxReplicas"] > hpa["minReplicas"]


def test_beat_is_a_singleton() -> None:
    beat = load("beat-deployment.yaml")["spec"]
    assert beat["replicas"] == 1
    assert beat["strategy"]["type"] == "Recreate"


def test_ingress_routes_to_the_api_service_and_hides_metrics() -> None:
    ingress = load("ingress.yaml")["spec"]
    service_port = load("api-service.yaml")["spec"]["ports"][0]["name"]
    paths = [path for rule in ingress["rules"] for path in rule["http"]["paths"]]
    assert all(p["backend"]["service"]["name"] == "lms-api" for p in paths)
    assert all(p["backend"]["service"]["port"]["name"] == service_port for p in paths)
    assert not any(p["path"].startswith("/metrics") for p in paths)
    assert ingress["tls"]
