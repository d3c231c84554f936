"""Configs: typed values, every shipped file valid and matching the paper's table, clear errors."""

import json

import pytest

from rhel.errors import RHELError
from rhel.training import config as C

# RHEL-SPEC §6: dataset -> (batch, lr, blocks, hidden linear, hidden nonlinear, P, time channel)
PAPER = {
    "EigenWorms": (4, 1e-4, 2, 64, 64, 16, False),
    "SelfRegulationSCP1": (32, 1e-4, 6, 64, 128, 256, True),
    "SelfRegulationSCP2": (32, 1e-5, 6, 64, 64, 256, True),
    "EthanolConcentration": (32, 1e-5, 4, 16, 16, 256, False),
    "Heartbeat": (32, 1e-5, 2, 64, 64, 16, True),
    "MotorImagery": (32, 1e-5, 2, 128, 128, 16, False),
    "PPG-DaLiA": (4, 1e-4, 6, 64, 64, 16, True),
}


@pytest.mark.parametrize("dataset", sorted(PAPER))
@pytest.mark.parametrize("model", ["linear", "nonlinear"])
def test_shipped_configs_hold_the_paper_hyperparameters(dataset, model):
    c = C.shipped_config(dataset, model)
    batch, lr, blocks, h_lin, h_non, P, tc = PAPER[dataset]
    assert (c.dataset, c.model) == (dataset, model)
    assert (c.batch_size, c.lr, c.blocks, c.state_size, c.time_channel) == (batch, lr, blocks, P, tc)
    assert c.hidden == (h_lin if model == "linear" else h_non)
    assert c.seeds == C.PAPER_SEEDS == (2345, 3456, 4567, 5678, 6789)  # the paper's five (RHEL-SPEC §6)
    assert (c.steps, c.eval_every, c.patience, c.epsilon, c.x64) == (100_000, 1000, 10, 0.1, False)
    assert c.output_step == (128 if dataset == "PPG-DaLiA" else None)


def test_shipped_config_values_are_typed_json(tmp_path):
    for name in C.shipped_configs():
        d = json.loads((C.resources.files("rhel") / "configs" / f"{name}.json").read_text())
        assert not any(isinstance(v, str) and v.replace(".", "").replace("e-", "").isdigit() for v in d.values())
        assert set(d) <= set(C.field_names())


def test_overrides_take_precedence_and_are_checked(tmp_path):
    c = C.resolve(overrides={"dataset": "Heartbeat", "model": "linear", "lr": 3e-3, "seeds": (1,)})
    assert (c.lr, c.seeds, c.batch_size) == (3e-3, (1,), 32)
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"dataset": "GunPoint", "steps": 7, "hidden": 8}))
    c = C.resolve(config_path=path, overrides={"hidden": 16})
    assert (c.dataset, c.steps, c.hidden, c.blocks) == ("GunPoint", 7, 16, C.TrainConfig().blocks)


@pytest.mark.parametrize(
    "content, words",
    [
        ({"learning_rate": 1e-3}, ["learning_rate", "valid fields"]),
        ({"lr": "1e-3"}, ["'lr'", "wrong type", "number"]),
        ({"steps": 10.5}, ["'steps'", "integer"]),
        ({"x64": "yes"}, ["'x64'", "true/false"]),
        ({"model": "lstm"}, ["'model'", "'linear'"]),
        ({"seeds": [1, 1]}, ["'seeds'", "repeats"]),
        ({"seeds": [2**32 + 1]}, ["'seeds'", "[0, 2**32)"]),
        ({"seeds": [-1]}, ["'seeds'", "[0, 2**32)"]),
        ({"steps": 0}, ["'steps'", "> 0"]),
        ({"dropout": 1.5}, ["'dropout'"]),
    ],
)
def test_bad_configs_name_the_field_and_the_fix(tmp_path, content, words):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    with pytest.raises(RHELError) as e:
        C.load_config(path)
    for w in words:
        assert w in str(e.value)


def test_unreadable_and_malformed_config_files(tmp_path):
    with pytest.raises(RHELError, match="cannot read config"):
        C.load_config(tmp_path / "missing.json")
    (tmp_path / "x.json").write_text("{lr: 1}")
    with pytest.raises(RHELError, match="not valid JSON"):
        C.load_config(tmp_path / "x.json")
    (tmp_path / "y.json").write_text("[1, 2]")
    with pytest.raises(RHELError, match="JSON object"):
        C.load_config(tmp_path / "y.json")


def test_round_trip_through_json():
    c = C.TrainConfig(dataset="GunPoint", seeds=(3, 4), length=None, unit={"dt": 0.5})
    assert C.from_dict(json.loads(json.dumps(c.to_dict()))) == c
