from pathlib import Path

import pytest
from pydantic import ValidationError

from core.errors import ConfigurationError
from core.settings import DEV_PRIVATE_KEYS, Settings, setting_hint, setting_problem

OWN_KEY = "0x" + "11" * 32


def test_data_dir_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("FAIRGOV_DATA_DIR", str(tmp_path / "state"))
    settings = Settings()
    assert settings.data_dir == tmp_path / "state"
    assert settings.deployment_file == tmp_path / "state" / "deployment.json"
    assert settings.chain_dir == tmp_path / "state" / "chain"


def test_default_data_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.delenv("FAIRGOV_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert Settings().data_dir == tmp_path / "fairgov"


def test_development_key_is_used_only_on_a_local_chain():
    settings = Settings(rpc_url=None)
    assert settings.deployer_private_key(31337) == DEV_PRIVATE_KEYS[0]
    with pytest.raises(ConfigurationError, match="FAIRGOV_DEPLOYER_KEY"):
        settings.deployer_private_key(1)


def test_a_public_development_key_is_refused_on_a_remote_chain():
    with pytest.raises(ConfigurationError, match="public development key"):
        Settings(rpc_url="https://rpc.example.org", deployer_key=DEV_PRIVATE_KEYS[0])


def test_a_public_development_key_is_refused_on_a_real_chain_id():
    settings = Settings(rpc_url="http://127.0.0.1:8545", deployer_key=DEV_PRIVATE_KEYS[1])
    with pytest.raises(ConfigurationError, match="not a local chain"):
        settings.deployer_private_key(11155111)


def test_an_own_key_works_anywhere():
    settings = Settings(rpc_url="https://rpc.example.org", deployer_key=OWN_KEY)
    assert settings.deployer_private_key(1) == OWN_KEY
    assert not settings.local


@pytest.mark.parametrize(
    ("url", "local"),
    [
        (None, True),
        ("http://127.0.0.1:8545", True),
        ("http://localhost:8545/rpc", True),
        ("https://mainnet.example.org", False),
    ],
)
def test_local_means_on_this_machine(url: str | None, local: bool):
    assert Settings(rpc_url=url).local is local


def test_estimator_modules_are_comma_separated_and_empty_by_default(
    monkeypatch: pytest.MonkeyPatch,
):
    assert Settings().estimator_modules == []
    monkeypatch.setenv("FAIRGOV_ESTIMATOR_MODULES", " sklearn.ensemble, sklearn.tree ,")
    assert Settings().estimator_modules == ["sklearn.ensemble", "sklearn.tree"]


def test_the_onnx_memory_limit_defaults_to_4_gib_everywhere(monkeypatch: pytest.MonkeyPatch):
    from audit.env import AuditEnv
    from audit.external import MAX_SCORING_MEMORY
    from scheduler.runtime import JobContext

    monkeypatch.delenv("FAIRGOV_ONNX_MAX_MEMORY", raising=False)
    assert Settings().onnx_max_memory == MAX_SCORING_MEMORY == 4 * 1024**3
    for holder in (AuditEnv, JobContext):
        assert holder.__dataclass_fields__["onnx_max_memory"].default == MAX_SCORING_MEMORY
    monkeypatch.setenv("FAIRGOV_ONNX_MAX_MEMORY", " ")
    assert Settings().onnx_max_memory == MAX_SCORING_MEMORY
    monkeypatch.setenv("FAIRGOV_ONNX_MAX_MEMORY", "16777216")
    assert Settings().onnx_max_memory == 16 * 1024**2


@pytest.mark.parametrize("bad", ["lots", "1000", "-5", "1.5e9"])
def test_a_nonsense_onnx_memory_limit_is_one_configuration_error(
    monkeypatch: pytest.MonkeyPatch, bad: str
):
    monkeypatch.setenv("FAIRGOV_ONNX_MAX_MEMORY", bad)
    with pytest.raises(ConfigurationError) as caught:
        Settings()
    assert caught.value.code == "configuration_error"
    assert caught.value.message == (
        f"FAIRGOV_ONNX_MAX_MEMORY={bad!r}: give the scoring memory limit in bytes, "
        "at least 1,048,576"
    )


def test_the_onnx_time_limit_defaults_to_600_s_everywhere(monkeypatch: pytest.MonkeyPatch):
    from audit.env import AuditEnv
    from audit.external import MAX_SCORING_SECONDS
    from scheduler.runtime import JobContext

    monkeypatch.delenv("FAIRGOV_ONNX_MAX_SECONDS", raising=False)
    assert Settings().onnx_max_seconds == MAX_SCORING_SECONDS == 600.0
    for holder in (AuditEnv, JobContext):
        assert holder.__dataclass_fields__["onnx_max_seconds"].default == MAX_SCORING_SECONDS
    monkeypatch.setenv("FAIRGOV_ONNX_MAX_SECONDS", "2.5")
    assert Settings().onnx_max_seconds == 2.5


@pytest.mark.parametrize("bad", ["forever", "0", "-1", "inf", "nan"])
def test_a_nonsense_onnx_time_limit_is_one_configuration_error(
    monkeypatch: pytest.MonkeyPatch, bad: str
):
    monkeypatch.setenv("FAIRGOV_ONNX_MAX_SECONDS", bad)
    with pytest.raises(ConfigurationError) as caught:
        Settings()
    assert caught.value.message == (
        f"FAIRGOV_ONNX_MAX_SECONDS={bad!r}: give the scoring time limit in seconds, "
        "a number above 0"
    )


def test_uploads_audited_at_once_default_to_two(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("FAIRGOV_API_MAX_CONCURRENT_AUDITS", raising=False)
    assert Settings().api_max_concurrent_audits == 2
    monkeypatch.setenv("FAIRGOV_API_MAX_CONCURRENT_AUDITS", "0")
    with pytest.raises(ValueError, match="api_max_concurrent_audits"):
        Settings()


def _refusal(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> str:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    return setting_problem(caught.value)


@pytest.mark.parametrize(
    ("variable", "value", "hint"),
    [
        (
            "FAIRGOV_API_PORT",
            "abc",
            "set FAIRGOV_API_PORT to a whole number from 0 to 65535 (0 picks a free port), "
            "or unset it for the default, 8000",
        ),
        (
            "FAIRGOV_ANVIL_PORT",
            "70000",
            "set FAIRGOV_ANVIL_PORT to a whole number from 0 to 65535 (0 picks a free port), "
            "or unset it for the default, 8545",
        ),
        (
            "FAIRGOV_SYNC_INTERVAL_SECONDS",
            "soon",
            "set FAIRGOV_SYNC_INTERVAL_SECONDS to a number above 0, or unset it for the "
            "default, 5.0",
        ),
        (
            "FAIRGOV_KEEPER_ENABLED",
            "maybe",
            "set FAIRGOV_KEEPER_ENABLED to true or false",
        ),
        (
            "FAIRGOV_API_SESSION_TTL",
            "5",
            "set FAIRGOV_API_SESSION_TTL to a whole number of at least 60",
        ),
    ],
)
def test_a_bad_setting_says_what_to_set_it_to(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, hint: str
):
    # Regression (review, session 26): "FAIRGOV_API_PORT: Input should be a valid integer,
    # unable to parse string as an integer" said nothing of what to do.
    line = _refusal(monkeypatch, variable, value)
    assert line.startswith(f"{variable}={value!r}: Input should be "), line
    assert hint in line
    assert "\n" not in line


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_has_a_hint_from_its_type(name: str):
    hint = setting_hint(name)
    assert hint.startswith(f"set FAIRGOV_{name.upper()} to ")
    kinds = ("a whole number", "a number", "true or false", "a URL", "a path", "text")
    kinds += ("comma-separated values", "a private key")
    assert any(f" to {kind}" in hint for kind in kinds), hint
    assert ", or unset it" in hint


def test_a_bad_setting_never_echoes_a_key():
    with pytest.raises(ValidationError) as caught:
        Settings(deployer_key=123)  # type: ignore[arg-type]
    line = setting_problem(caught.value)
    assert line.startswith("FAIRGOV_DEPLOYER_KEY: "), line
    assert "123" not in line
