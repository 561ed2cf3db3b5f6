"""The deployment files, checked offline (no Docker engine or cluster is needed): the
Kubernetes manifests validate against the API schemas, the compose file migrates once, the
Dockerfile's final stage is slim and unprivileged, and gunicorn's settings are the measured
ones."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from webapp import ROOT

K8S = ROOT / "deploy" / "k8s"


def _manifests() -> list[dict]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def _by_kind(kind: str, name: str) -> dict:
    return next(d for d in _manifests() if d["kind"] == kind and d["metadata"]["name"] == name)


def test_the_kubernetes_manifests_validate_strictly():
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    checked = 0
    for doc in _manifests():
        if doc["kind"] == "Kustomization":
            continue
        kubernetes_validate.validate(doc, kubernetes_validate.latest_version(), strict=True)
        checked += 1
    assert checked >= 7


def test_the_kustomization_lists_every_manifest_but_the_example_secret():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert listed == present


def test_web_runs_three_replicas_with_liveness_and_readiness_probes():
    web = _by_kind("Deployment", "playground-web")
    assert web["spec"]["replicas"] == 3
    container = web["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    sources = {next(iter(s)) + ":" + next(iter(s.values()))["name"] for s in container["envFrom"]}
    assert sources == {"configMapRef:playground-config", "secretRef:playground-secrets"}
    assert web["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    assert (
        _by_kind("Service", "playground-web")["spec"]["selector"]
        == (web["spec"]["selector"]["matchLabels"])
    )


def test_workers_and_the_migration_job_run_the_right_commands():
    worker = _by_kind("Deployment", "playground-worker")
    command = worker["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command == ["flask", "--app", "webapp", "worker"]
    job = _by_kind("Job", "playground-migrate")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "alembic", "upgrade", "head",
    ]  # fmt: skip
    ingress = _by_kind("Ingress", "playground")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "playground-web"


def test_compose_migrates_once_before_web_and_workers_start():
    compose = yaml.safe_load((ROOT / "compose.yml").read_text())
    services = compose["services"]
    assert services["migrate"]["command"] == ["alembic", "upgrade", "head"]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
        assert "alembic" not in str(services[name].get("command", ""))
    # Scalable: no fixed container name or host port on the workers.
    assert "container_name" not in services["worker"] and "ports" not in services["worker"]


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_compose_file_is_valid():
    subprocess.run(
        ["docker-compose", "-f", str(ROOT / "compose.yml"), "config", "-q"],
        check=True, env={"SECRET_KEY": "x", "PATH": "/usr/bin:/bin"}, cwd=ROOT,
    )  # fmt: skip


def test_the_image_is_multi_stage_unprivileged_and_checks_health():
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+(?: AS (\w+))?", dockerfile, flags=re.M)
    assert len(stages) == 2
    final = dockerfile.split("\nFROM ")[-1]
    assert "build-essential" not in final and "apt-get" not in final
    assert "COPY --from=builder /opt/venv /opt/venv" in final
    assert re.search(r"^USER playground$", final, flags=re.M)
    assert "HEALTHCHECK" in final and "/health" in final
    assert "alembic" not in final.split("\nCMD", 1)[1]  # web containers do not migrate
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {"tests", ".git", ".venv"} <= set(ignored)


def test_gunicorn_uses_the_measured_worker_model_and_freezes_the_heap():
    # Read, not executed: executing it would set PROMETHEUS_MULTIPROC_DIR in this process.
    conf = (ROOT / "gunicorn.conf.py").read_text()
    assert 'worker_class = os.environ.get("WEB_WORKER_CLASS", "gthread")' in conf
    assert 'keepalive = int(os.environ.get("WEB_KEEPALIVE", "0"))' in conf  # no pinning
    assert 'wsgi_app = "webapp:create_app()"' in conf
    assert "accesslog = None" in conf  # the app logs requests with their id
    assert re.search(r"def post_worker_init\(worker\).*?gc\.freeze\(\)", conf, flags=re.S)
    assert "mark_process_dead" in conf and "preload_app" not in conf.split('"""', 2)[2]
