"""The deployment files, checked as far as they can be without a server or a cluster."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_prefect_yaml_points_at_the_improve_flow():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    (dep,) = spec["deployments"]
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
