"""A generator declares what it needs of its dataset (``Generator.requires``); a suite
that pairs it with a dataset that does not fit is refused when it is planned, with exit
code 2 and nothing recorded."""

from __future__ import annotations

import pytest

from harness import Requires, hookimpl, suites
from harness.errors import UsageError
from harness.plans import plan_suite
from harness.plugins import Host
from tests.helpers import TinyGenerator


def host_with(cls) -> Host:
    class Plugin:
        @hookimpl
        def genbench_generators(self):
            return [cls]

    return Host(plugins=[("p", Plugin())])


def plan(cls, dataset: str = "clocks", **options):
    suite = suites.Suite("t", suites.budgets.NAMED["smoke"], [suites.Entry(cls.name, dataset, options)], (0,))
    return plan_suite(host_with(cls), suite)


class OnlyDigits(TinyGenerator):
    name = "only-digits"
    requires = Requires(datasets=("digits",))


class ThreeChannels(TinyGenerator):
    name = "rgb"
    requires = Requires(channels=(3,))


class Sized(TinyGenerator):
    name = "sized"
    requires = Requires(resolutions=(16, 32))


class ByFour(TinyGenerator):
    name = "by-four"
    requires = Requires(resolution_multiple_of=4)


class Conditional(TinyGenerator):
    name = "conditional"
    conditional = True


class Width7(TinyGenerator):
    name = "width7"
    requires = Requires(condition_dim=7)


@pytest.mark.parametrize(("cls", "options", "message"), [
    (OnlyDigits, {}, "generator 'only-digits' runs only on 'digits', not 'clocks'"),
    (ThreeChannels, {}, "generator 'rgb' makes images of 3 channel(s), and dataset 'clocks' has 1 "
                        "(set its channels option)"),
    (Sized, {"resolution": 8}, "generator 'sized' makes images at a resolution of 16 or 32, and dataset 'clocks' "
                               "is 8x8"),
    (ByFour, {"resolution": 30}, "generator 'by-four' needs a resolution divisible by 4, and dataset 'clocks' is "
                                 "30x30"),
    (Width7, {}, "generator 'width7' reads conditions of width 7, and dataset 'clocks' has 6"),
])
def test_a_dataset_that_does_not_fit_is_refused_when_planned(cls, options, message):
    with pytest.raises(UsageError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        plan(cls, **options)


@pytest.mark.parametrize(("cls", "options"), [
    (ThreeChannels, {"channels": 3}), (Sized, {"resolution": 16}), (ByFour, {"resolution": 32}),
    (TinyGenerator, {}), (Conditional, {})])
def test_a_dataset_that_fits_is_planned(cls, options):
    assert len(plan(cls, **options)) == 1


def test_a_conditional_generator_needs_conditions():
    with pytest.raises(UsageError, match="generator 'conditional' is conditional and dataset 'digits' has no "
                                         "conditions"):
        plan(Conditional, "digits")


def test_the_builtins_declare_what_they_need(run_cli, tmp_path):
    # The clock generator reads the clocks' time features: on digits it is refused before
    # anything is recorded, where it used to fail inside the generator at run time.
    code, _, err = run_cli("run", "-g", "clock", "-d", "digits", "-b", "smoke", "--out", str(tmp_path))
    assert code == 2
    assert "generator 'clock' is conditional and dataset 'digits' has no conditions" in err
    assert not (tmp_path / "genbench.sqlite").exists()
    suite = tmp_path / "s.toml"
    suite.write_text('budget = "smoke"\n\n[[entry]]\ngenerator = "vqvae"\ndataset = "clocks"\n'
                     'dataset_options = { resolution = 30 }\n')
    code, _, err = run_cli("run", "--suite", str(suite), "--out", str(tmp_path))
    assert code == 2
    assert f"{suite}, line 3 ([[entry]] #1): generator 'vqvae' needs a resolution divisible by 4" in err


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"datasets": "clocks"}, TypeError, "Requires.datasets must be a tuple of str, such as ('clocks',), got 'clocks'"),
    ({"channels": (1.0,)}, TypeError, "Requires.channels must be a tuple of int"),
    ({"resolution_multiple_of": 0}, ValueError, "Requires.resolution_multiple_of must be a whole number >= 1"),
    ({"condition_dim": 0}, ValueError, "Requires.condition_dim must be None or a whole number >= 1"),
])
def test_a_wrong_declaration_fails_where_it_is_written(kwargs, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        Requires(**kwargs)


def test_requires_of_another_type_makes_the_plugin_broken():
    class NotRequires(TinyGenerator):
        name = "not-requires"
        requires = "clocks"

    assert "whose requires is 'clocks', expected a harness.Requires" in host_with(NotRequires).plugins["p"].error


def test_check_plugin_skips_a_generator_the_dataset_does_not_fit(run_cli):
    code, out, _ = run_cli("check-plugin", "clock", "--dataset", "digits")
    assert code == 0
    assert ("skip clock: the dataset it is checked on fits it\n       generator 'clock' is conditional and dataset "
            "'digits' has no conditions") in out


def test_config_help_of_another_type_makes_the_plugin_broken():
    class BadHelp(TinyGenerator):
        name = "bad-help"
        config_help = ("batch_size",)

    assert "whose config_help is ('batch_size',), expected a dict" in host_with(BadHelp).plugins["p"].error
