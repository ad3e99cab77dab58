"""The real google-genai client against the fake Gemini server on 127.0.0.1."""

import logging
import time

import numpy as np
import pytest

from linkdo.ai import ProviderError, get_provider, get_tag_provider
from tests.fake_gemini import fake_vector


def test_embeds_in_batches_of_100_with_the_configured_dimension(gemini):
    provider = get_provider()
    texts = [f"task {i}" for i in range(250)]
    vectors = provider.embed(texts, deadline_s=5)
    assert vectors.shape == (250, 768)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert gemini.calls == {"batchEmbedContents": 3}
    sizes = [len(body["requests"]) for _, body, _ in gemini.requests]
    assert sizes == [100, 100, 50]
    path, body, headers = gemini.requests[0]
    assert path == "/v1/models/gemini-embedding-001:batchEmbedContents"
    assert body["requests"][0]["outputDimensionality"] == 768
    assert body["requests"][0]["content"]["parts"][0]["text"] == "task 0"
    assert headers["x-goog-api-key"] == "server-key-not-secret"
    assert np.allclose(vectors[0], fake_vector("task 0", 768), atol=1e-5)


def test_truncated_vectors_are_normalised_again(gemini, settings):
    """Gemini's vectors below 3072 dimensions are not unit length; LinkDo re-normalises them."""
    settings.LINKDO_EMBEDDING_DIM = 3
    from linkdo.ai import reset_providers

    reset_providers()
    vectors = get_provider().embed(["a", "b"], deadline_s=2)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)


def test_client_is_built_once_per_key(gemini):
    assert get_provider() is get_provider()
    assert get_provider(api_key="user-key") is get_provider(api_key="user-key")
    assert get_provider(api_key="user-key") is not get_provider()


def test_callers_key_is_used_and_never_logged(gemini, caplog):
    caplog.set_level(logging.DEBUG)
    get_provider(api_key="user-secret-key-123").embed(["x"], deadline_s=2)
    assert gemini.requests[-1][2]["x-goog-api-key"] == "user-secret-key-123"
    gemini.mode = "error500"
    with pytest.raises(ProviderError) as failure:
        get_provider(api_key="user-secret-key-123").embed(["x"], deadline_s=2)
    assert "user-secret-key-123" not in caplog.text
    assert "user-secret-key-123" not in str(failure.value)
    assert "provider_call provider=gemini kind=embed items=1" in caplog.text


def test_server_errors_are_retried_a_bounded_number_of_times(gemini):
    gemini.mode = "error500"
    with pytest.raises(ProviderError, match="HTTP 500"):
        get_provider().embed(["x"], deadline_s=5)
    assert gemini.calls["batchEmbedContents"] == 3  # 1 + LINKDO_AI_MAX_RETRIES


def test_429_honours_the_servers_retry_delay_within_the_deadline(gemini, settings):
    settings.LINKDO_AI_MAX_RETRIES = 1
    gemini.mode = "error429"
    started = time.monotonic()
    with pytest.raises(ProviderError, match="HTTP 429"):
        get_provider().embed(["x"], deadline_s=3)
    assert 1.0 <= time.monotonic() - started < 3.0  # waited the 1 s RetryInfo once
    assert gemini.calls["batchEmbedContents"] == 2
    gemini.reset()
    gemini.mode = "error429"
    with pytest.raises(ProviderError):
        get_provider().embed(["x"], deadline_s=0.8)  # a 1 s delay does not fit: no retry
    assert gemini.calls["batchEmbedContents"] == 1


def test_a_hanging_server_is_cut_off_at_the_deadline(gemini):
    gemini.mode = "hang"
    started = time.monotonic()
    with pytest.raises(ProviderError):
        get_provider().embed(["x"], deadline_s=0.7)
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("mode", ["garbage", "wrong_count"])
def test_malformed_answers_are_errors_not_crashes(gemini, mode):
    gemini.mode = mode
    with pytest.raises(ProviderError):
        get_provider().embed(["x", "y"], deadline_s=2)


def test_tag_request_uses_structured_output_and_no_thinking(gemini):
    tags = get_provider().suggest_tags("Write the report", ["work", "home"], deadline_s=2)
    assert tags == ["planning", "work", "writing"]
    path, body, _ = gemini.requests[-1]
    assert path == "/v1/models/gemini-2.5-flash:generateContent"
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseSchema"]["properties"]["tags"]["type"] == "ARRAY"
    assert config["thinkingConfig"] in ({"thinkingBudget": 0}, {"thinking_budget": 0})
    prompt = body["contents"][0]["parts"][0]["text"]
    assert '["work", "home"]' in prompt
    assert "Write the report" in prompt


@pytest.mark.parametrize("reason", ["MAX_TOKENS", "SAFETY"])
def test_cut_off_tag_answers_are_errors(gemini, reason):
    gemini.finish_reason = reason
    with pytest.raises(ProviderError, match="cut off or blocked"):
        get_provider().suggest_tags("x", [], deadline_s=2)


def test_a_callers_key_enables_gemini_tags_on_a_local_deployment(settings, fake_gemini_server):
    from linkdo.ai import reset_providers

    fake_gemini_server.reset()
    settings.GEMINI_BASE_URL = fake_gemini_server.base_url
    reset_providers()
    assert get_tag_provider().suggest_tags("x", [], deadline_s=1) is None  # local: no LLM
    assert get_tag_provider(api_key="user-key").suggest_tags("x", [], deadline_s=2)
    assert get_provider(api_key="user-key").embedding_model.startswith("local:")
