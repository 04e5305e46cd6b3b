"""The Kubernetes manifests and the image, checked as a reviewer of a deployment would.

Every overlay renders with kustomize (PyPI's kubectl), every object validates against the
Kubernetes API schemas offline (kubernetes-validate), and the rules that matter hold: no literal
secrets, probes and limits on every container, pinned images, non-root with a read-only root,
each part reaching only what it calls, the ArgoCD Application deploying the prod overlay with
automated sync, prune and self-heal, and checkov's Kubernetes checks with no unjustified failure.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from core import metrics
from core.redaction import redact
from core.settings import Settings
from core.terraform.paths import checkov_bin

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = ("dev", "prod")
KUBECTL = Path(sys.executable).with_name("kubectl")
K8S_VERSION = "1.33.0"
WORKLOADS = {"Deployment", "StatefulSet"}
SECRETISH = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE)(?!S?_DIR$)", re.I)


@cache
def render(path: str) -> tuple[dict[str, Any], ...]:
    out = subprocess.run([str(KUBECTL), "kustomize", str(K8S / path)], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return tuple(doc for doc in yaml.safe_load_all(out) if doc)


def overlay(name: str) -> tuple[dict[str, Any], ...]:
    return render(f"overlays/{name}")


def workloads(docs: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] in WORKLOADS]


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = workload["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_overlay_renders_and_validates_against_the_kubernetes_schemas(name: str) -> None:
    docs = overlay(name)
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "StatefulSet", "Service", "Ingress", "NetworkPolicy",
            "HorizontalPodAutoscaler", "PodDisruptionBudget", "ConfigMap", "Namespace"} <= kinds
    parts = {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"}
    assert {"bot", "worker", "web", "monitor", "zipkin"} <= parts
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    namespace = next(d["metadata"]["name"] for d in docs if d["kind"] == "Namespace")
    assert all(d["metadata"].get("namespace") == namespace for d in docs if d["kind"] != "Namespace")


@pytest.mark.parametrize("name", OVERLAYS)
def test_no_literal_secret_anywhere(name: str) -> None:
    docs = overlay(name)
    assert not [d for d in docs if d["kind"] == "Secret"], "a Secret is created by the operator, never committed"
    for doc in docs:
        if doc["kind"] == "ConfigMap":
            literal = [k for k, v in doc["data"].items() if SECRETISH.search(k) or redact(v) != v]
            assert not literal, f"secret-looking keys in {doc['metadata']['name']}: {literal}"
    for workload in workloads(docs):
        for container in containers(workload):
            for env in container.get("env", []):
                if SECRETISH.search(env["name"]) or redact(str(env.get("value", ""))) != env.get("value", ""):
                    assert "value" not in env, f"{env['name']} given as a literal in {workload['metadata']['name']}"
        volumes = workload["spec"]["template"]["spec"].get("volumes", [])
        for volume in volumes:
            if "secret" in volume:
                assert volume["secret"]["secretName"] in {"archops-secrets", "archops-redis"}


@pytest.mark.parametrize("name", OVERLAYS)
def test_every_container_has_probes_limits_a_pinned_image_and_runs_unprivileged(name: str) -> None:
    for workload in workloads(overlay(name)):
        where = workload["metadata"]["name"]
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["runAsUser"] >= 10000, where
        assert pod.get("automountServiceAccountToken") is False, where
        for container in containers(workload):
            assert container.get("livenessProbe") and container.get("readinessProbe"), where
            resources = container["resources"]
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[kind]), f"{where}: {kind}"
            image = container["image"]
            assert "@sha256:" in image or re.search(r":[\w][\w.-]*$", image.split("/")[-1]), image
            assert not image.endswith(":latest"), image
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["capabilities"]["drop"] == ["ALL"], where


def _settings_names() -> set[str]:
    # ARCHOPS_SECRETS_DIR is read by the settings' own configuration (files named as variables)
    return {f"ARCHOPS_{field.upper()}" for field in Settings.model_fields} | {"ARCHOPS_SECRETS_DIR"}


@pytest.mark.parametrize("name", OVERLAYS)
def test_configuration_names_real_settings_and_probes_match_what_the_parts_serve(name: str) -> None:
    docs = overlay(name)
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
    unknown = set(config) - _settings_names()
    assert not unknown, f"the ConfigMap sets what archops does not read: {unknown}"
    probe_port = int(config["ARCHOPS_PROBE_PORT"])
    for workload in workloads(docs):
        if workload["metadata"]["labels"].get("app.kubernetes.io/name") != "archops":
            continue
        (container,) = containers(workload)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["metrics"] == probe_port
        command = container["args"][0]
        # the worker and the monitor serve their probes on the probe port; the edges on their own
        if command in {"worker", "monitor"}:
            assert container["livenessProbe"]["httpGet"]["port"] == "metrics"
        else:
            port = int(container["args"][container["args"].index("--port") + 1])
            assert ports["http"] == port
        env = {e["name"] for e in container.get("env", [])}
        assert env <= _settings_names(), env - _settings_names()


def test_the_worker_autoscaler_reads_a_metric_the_workers_export() -> None:
    docs = overlay("prod")
    hpa = next(d for d in docs if d["kind"] == "HorizontalPodAutoscaler" and d["metadata"]["name"] == "worker")
    external = [m["external"]["metric"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "External"]
    exported = {m.name for m in metrics.REGISTRY.collect()}
    assert external and set(external) <= exported, (external, exported)
    assert hpa["spec"]["minReplicas"] >= 2


def test_each_part_reaches_only_what_it_calls() -> None:
    policies = {d["metadata"]["name"]: d["spec"] for d in overlay("prod") if d["kind"] == "NetworkPolicy"}
    deny = policies["default-deny"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    redis_from = policies["redis-from-archops"]["ingress"]
    assert [r["from"] for r in redis_from] == [[{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "archops"}}}]]
    egress = policies["archops-egress"]["egress"]
    outside = [r for r in egress if any("ipBlock" in t for t in r["to"])]
    assert {p["port"] for r in outside for p in r["ports"]} == {443, 5432}, "outside the cluster: HTTPS and PostgreSQL only"
    edges = policies["edges-from-ingress"]
    assert edges["podSelector"]["matchExpressions"][0]["values"] == ["web", "bot"]


def test_the_argocd_application_deploys_the_prod_overlay_and_heals_itself() -> None:
    docs = {d["kind"]: d for d in render("argocd")}
    app, project = docs["Application"], docs["AppProject"]
    source = app["spec"]["source"]
    assert source["path"] == "k8s/overlays/prod" and (ROOT / source["path"] / "kustomization.yaml").is_file()
    automated = app["spec"]["syncPolicy"]["automated"]
    assert automated == {"prune": True, "selfHeal": True}
    assert app["spec"]["project"] == project["metadata"]["name"]
    prod_namespace = next(d["metadata"]["name"] for d in overlay("prod") if d["kind"] == "Namespace")
    assert app["spec"]["destination"]["namespace"] == prod_namespace
    assert {d["namespace"] for d in project["spec"]["destinations"]} == {prod_namespace}
    assert source["repoURL"] in project["spec"]["sourceRepos"]
    # everything the overlay creates is a kind the project allows
    allowed = {(k["group"], k["kind"]) for k in project["spec"]["namespaceResourceWhitelist"]}
    allowed |= {(k["group"], k["kind"]) for k in project["spec"]["clusterResourceWhitelist"]}
    for doc in overlay("prod"):
        group = doc["apiVersion"].split("/")[0] if "/" in doc["apiVersion"] else ""
        assert (group, doc["kind"]) in allowed, (group, doc["kind"])


def test_checkov_finds_no_unjustified_failure_in_the_rendered_manifests(tmp_path: Path) -> None:
    checkov = checkov_bin()
    if not checkov.exists():
        pytest.skip("checkov is not installed (scripts/setup-validation installs it)")
    for name in OVERLAYS:
        text = yaml.safe_dump_all(overlay(name), sort_keys=False)
        (tmp_path / f"{name}.yaml").write_text(text)
    result = subprocess.run(
        [str(checkov), "-d", str(tmp_path), "--framework", "kubernetes", "-o", "json", "--quiet",
         "--compact", "--skip-download"],
        capture_output=True, text=True, timeout=180,
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [(f["check_id"], f["resource"]) for r in reports for f in r["results"].get("failed_checks", [])]
    assert not failed, failed
    assert sum(r["summary"]["passed"] for r in reports) > 500
    # every skip carries its reason in the manifest
    for name in OVERLAYS:
        for doc in overlay(name):
            for key, value in (doc["metadata"].get("annotations") or {}).items():
                if key.startswith("checkov.io/skip"):
                    check, _, reason = value.partition("=")
                    assert re.fullmatch(r"CKV_K8S_\d+", check) and len(reason) > 20, value


# -- the image ------------------------------------------------------------------------------

def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    return found


def test_the_dockerfile_passes_hadolint() -> None:
    result = subprocess.run([_hadolint(), "--failure-threshold", "info", str(ROOT / "Dockerfile")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_holds_every_package_runs_unprivileged_and_ignores_what_it_must_not_carry() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    includes = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {p.rstrip("*") for p in includes}
    copied = set(re.findall(r"^COPY (\w+)/ \1/$", dockerfile, re.M))
    assert packages <= copied, f"the image lacks {packages - copied}"
    final = dockerfile.split("\nFROM ")[-1]
    user = re.findall(r"^USER (\S+)", final, re.M)
    assert user and not user[-1].startswith(("0", "root")), user
    assert re.search(r'^ENTRYPOINT \["archops"\]', final, re.M)
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".git", ".venv", "web/node_modules", "tests", ".data"):
        assert path in ignored, path


def _builder() -> str | None:
    docker = shutil.which("docker")
    if docker is None:
        return None
    answered = subprocess.run([docker, "info"], capture_output=True, timeout=20)
    return docker if answered.returncode == 0 else None


@pytest.mark.slow
def test_the_image_builds_and_runs_as_its_unprivileged_user() -> None:
    docker = _builder()
    if docker is None:
        pytest.skip("no container builder here: `docker info` does not answer (no daemon)")
    tag = "archops-test:build"
    subprocess.run([docker, "build", "-t", tag, str(ROOT)], check=True, timeout=1800)
    out = subprocess.run([docker, "run", "--rm", "--read-only", "--tmpfs", "/tmp", "--entrypoint", "id",
                          tag, "-u"], check=True, capture_output=True, text=True, timeout=120).stdout
    assert out.strip() == "10001"
    helped = subprocess.run([docker, "run", "--rm", "--read-only", "--tmpfs", "/tmp", tag, "--help"],
                            capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0 and "worker" in helped.stdout
