from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from shoal.settings import Settings, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No SHOAL_* variables from the outside, and a fresh working directory."""
    for name in list(os.environ):
        if name.upper().startswith("SHOAL_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shoal.toml"
    path.write_text(text)
    return path


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.server.port == 8080
    assert settings.server.host == "127.0.0.1"
    assert settings.data_dir == Path("shoal-data")
    assert settings.database_url is None
    assert settings.db_url == f"sqlite:///{(tmp_path / 'shoal-data' / 'shoal.db').resolve()}"
    assert settings.tts.max_text_chars == 100_000
    assert settings.bootstrap_key == "auto"


def test_settings_class_has_the_same_defaults() -> None:
    assert Settings().model_dump() == load_settings().model_dump()


def test_database_url_follows_data_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "elsewhere")
    assert settings.db_url == f"sqlite:///{(tmp_path / 'elsewhere' / 'shoal.db').resolve()}"


def test_explicit_database_url_wins_over_data_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, database_url="postgresql://db/shoal")
    assert settings.db_url == "postgresql://db/shoal"


def test_data_dir_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SHOAL_DATA_DIR", str(tmp_path / "env-data"))
    settings = load_settings()
    assert settings.data_dir == tmp_path / "env-data"
    assert settings.db_url == f"sqlite:///{(tmp_path / 'env-data' / 'shoal.db').resolve()}"


def attribute(settings: Settings, path: str) -> object:
    value: object = settings
    for name in path.split("."):
        value = getattr(value, name)
    return value


@pytest.mark.parametrize(
    ("variable", "value", "path", "expected"),
    [
        ("SHOAL_TTS__MAX_TEXT_CHARS", "42", "tts.max_text_chars", 42),
        ("SHOAL_SERVER__PORT", "9123", "server.port", 9123),
        ("SHOAL_ENGINES__ESPEAK__RATE_WPM", "200", "engines.espeak.rate_wpm", 200),
        ("SHOAL_ENGINES__ESPEAK__ENABLED", "false", "engines.espeak.enabled", False),
        ("SHOAL_BOOTSTRAP_KEY", "never", "bootstrap_key", "never"),
        ("SHOAL_DATABASE_URL", "sqlite:////tmp/x.db", "db_url", "sqlite:////tmp/x.db"),
        ("SHOAL_REDIS_URL", "redis://127.0.0.1:6379/3", "redis_url", "redis://127.0.0.1:6379/3"),
        ("SHOAL_BILLING__DEFAULT_PLAN", "free", "billing.default_plan", "free"),
        ("shoal_server__host", "0.0.0.0", "server.host", "0.0.0.0"),
    ],
)
def test_environment_variables(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, path: str, expected: object
) -> None:
    assert attribute(load_settings(), path) != expected
    monkeypatch.setenv(variable, value)
    assert attribute(load_settings(), path) == expected


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SHOAL_TTS__MAX_TEXT_CHARS", "0"),
        ("SHOAL_SERVER__PORT", "70000"),
        ("SHOAL_SERVER__PORT", "eighty"),
        ("SHOAL_BOOTSTRAP_KEY", "sometimes"),
    ],
)
def test_invalid_environment_values_are_rejected(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError):
        load_settings()


def test_toml_file(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        """
data_dir = "/srv/shoal"
bootstrap_key = "never"

[server]
port = 9000
host = "0.0.0.0"

[tts]
max_text_chars = 500
default_model = "s1"

[tts.models.custom]
engine = "espeak"
voice = "en-us"

[engines.piper]
voice_id = "amy"
""",
    )
    settings = load_settings(config)
    assert settings.data_dir == Path("/srv/shoal")
    assert settings.db_url == "sqlite:////srv/shoal/shoal.db"
    assert settings.bootstrap_key == "never"
    assert settings.server.port == 9000
    assert settings.server.host == "0.0.0.0"
    assert settings.tts.max_text_chars == 500
    assert settings.tts.default_model == "s1"
    assert settings.tts.models["custom"].engine == "espeak"
    assert settings.tts.models["custom"].voice == "en-us"
    assert settings.engines.piper.voice_id == "amy"
    # What the file leaves out keeps its default.
    assert settings.server.graceful_shutdown_seconds == 30.0
    assert settings.engines.espeak.enabled is True


def test_precedence_overrides_env_file_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        """
data_dir = "/from/file"

[server]
port = 9000
host = "10.0.0.1"
log_level = "debug"

[tts]
max_text_chars = 500
""",
    )
    monkeypatch.setenv("SHOAL_DATA_DIR", "/from/env")
    monkeypatch.setenv("SHOAL_SERVER__PORT", "7000")
    monkeypatch.setenv("SHOAL_TTS__DEFAULT_MODEL", "s1")

    settings = load_settings(config, data_dir=Path("/from/override"))

    assert settings.data_dir == Path("/from/override")  # override > env > file
    assert settings.server.port == 7000  # env > file
    assert settings.server.host == "10.0.0.1"  # file > default
    assert settings.server.log_level == "debug"  # file > default
    assert settings.tts.max_text_chars == 500  # file, next to a nested env value
    assert settings.tts.default_model == "s1"  # env, next to a nested file value
    assert settings.tts.fallback_engine == "espeak"  # default


def test_env_wins_over_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = write_config(tmp_path, 'data_dir = "/from/file"\n')
    assert load_settings(config).data_dir == Path("/from/file")
    monkeypatch.setenv("SHOAL_DATA_DIR", "/from/env")
    assert load_settings(config).data_dir == Path("/from/env")


def test_overrides_win_over_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOAL_BOOTSTRAP_KEY", "never")
    assert load_settings().bootstrap_key == "never"
    assert load_settings(bootstrap_key="auto").bootstrap_key == "auto"


def test_unset_overrides_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI passes None for flags that were not given.
    monkeypatch.setenv("SHOAL_DATA_DIR", "/from/env")
    assert load_settings(data_dir=None).data_dir == Path("/from/env")


def test_unknown_override_is_rejected() -> None:
    with pytest.raises(ValidationError, match="bogus"):
        load_settings(bogus=1)


def test_unknown_top_level_key_in_file_is_rejected(tmp_path: Path) -> None:
    config = write_config(tmp_path, "bogus = 1\n")
    with pytest.raises(ValidationError, match="bogus"):
        load_settings(config)


@pytest.mark.parametrize(
    "text",
    ["[server]\nprot = 9000\n", "[tts]\nmax_text_char = 5\n", "[engines.piper]\nvoice = 'amy'\n"],
)
def test_unknown_nested_key_in_file_is_rejected(tmp_path: Path, text: str) -> None:
    config = write_config(tmp_path, text)
    with pytest.raises(ValidationError):
        load_settings(config)


def test_invalid_value_in_file_is_rejected(tmp_path: Path) -> None:
    config = write_config(tmp_path, "[server]\nport = 0\n")
    with pytest.raises(ValidationError, match="port"):
        load_settings(config)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"missing\.toml"):
        load_settings(tmp_path / "missing.toml")


def test_config_path_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path)
