"""``genbench describe NAME``: a generator's config keys with defaults and meaning, its
sampling keys and the datasets it fits; a dataset's options and ranking metric."""

from __future__ import annotations

import json

from harness.plugins import Host


def test_every_builtin_generator_explains_each_config_key():
    host = Host()
    for name, cls in host.generators.items():
        assert set(cls.config_help) == set(cls.default_config), name
        assert all(text.strip() for text in cls.config_help.values()), name


def test_describe_a_generator(run_cli):
    code, out, err = run_cli("describe", "ddpm", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["kind"] == "generator" and d["plugin"] == "ddpm" and d["class"] == "genbench_ddpm.plugin.Ddpm"
    config = {c["key"]: c for c in d["config"]}
    assert config["ddim_steps"]["default"] == 50 and config["ddim_steps"]["help"] == "steps of the DDIM sampler"
    assert d["sampling_keys"] == ["sampler", "ddim_steps", "eta"]
    assert d["datasets"]["clocks"] == "fits" and d["datasets"]["cifar10"].startswith("not checked: ")


def test_describe_says_where_a_generator_does_not_fit(run_cli):
    _, text, _ = run_cli("describe", "clock")
    assert "needs: conditions of width 6; resolution 8, 16, 32, 64, 128, 256, 512" in text
    assert "digits           generator 'clock' is conditional and dataset 'digits' has no conditions" in text
    assert "    lr          0.002      Adam learning rate" in text


def test_describe_a_dataset_and_an_extractor(run_cli):
    _, text, _ = run_cli("describe", "clocks")
    assert "ranked by: fd-clocknet" in text and "    resolution  32" in text and "    split_seed  0" in text
    d = json.loads(run_cli("describe", "clocknet", "--json")[1])
    assert d["columns"] == ["fd-clocknet", "fd-clocknet-inf", "kid-clocknet", "modes-clocknet", "mode-kl-clocknet"]


def test_describe_an_unknown_name(run_cli):
    code, _, err = run_cli("describe", "nope")
    assert code == 2
    assert "nothing called 'nope'" in err and "ddpm" in err
