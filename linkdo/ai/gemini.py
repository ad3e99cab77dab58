"""Gemini through google-genai, with our own bounded retries inside a hard deadline.

google-genai has no timeout and no retry unless configured, and its 429 backoff ignores the server's
retry delay, so each call here gets the time left before the deadline as its timeout, and retries
429/5xx answers itself, honouring RetryInfo when it fits in the deadline.
"""

import json
import re
import time

import numpy as np
from google import genai
from google.genai import errors, types

from linkdo.ai.base import ProviderError
from linkdo.ai.vectors import l2_normalise
from linkdo.observability import record_provider_call

EMBED_BATCH = 100  # texts per batchEmbedContents request (the API's limit)
RETRYABLE = {429, 500, 502, 503, 504}
REJECTED = 400  # INVALID_ARGUMENT: this input will never be accepted
MIN_ATTEMPT_S = 0.05
TAGS_SCHEMA = {
    "type": "object",
    "properties": {"tags": {"type": "array", "items": {"type": "string"}}},
    "required": ["tags"],
}
TAGS_PROMPT = """Suggest 3 to 5 short tags for this task in a to-do app.
Prefer tags from the workspace's existing tags when they fit; add new ones only when none fit.
Answer in the task's language. Existing tags: {vocabulary}

Task: {text}"""


PARSE_SCHEMA = {
    "type": "object",
    "properties": {
        "tasks": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "due_date": {"type": "string", "nullable": True, "description": "YYYY-MM-DD"},
                    "due_time": {"type": "string", "nullable": True, "description": "HH:MM, 24 h"},
                    "recurrence": {
                        "type": "string",
                        "nullable": True,
                        "description": "RFC 5545 RRULE without DTSTART, e.g. FREQ=WEEKLY;BYDAY=MO",
                    },
                    "priority": {
                        "type": "string",
                        "nullable": True,
                        "enum": ["low", "medium", "high", "critical"],
                    },
                    "category": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "source_text": {"type": "string"},
                },
                "required": ["title", "due_date", "tags", "source_text"],
            },
        }
    },
    "required": ["tasks"],
}
PARSE_PROMPT = """Split this note into the separate to-do tasks it contains (none if it holds no task:
small talk such as "nice weather today" or "피곤하다" is no task).
For each task: a short title in the note's language without the date, time, recurrence and
markers; a description only if the note says more; the due date as YYYY-MM-DD (or null) resolved
against today, {today} (a weekday means the next one; a recurring task is due at its first
occurrence); due_time as HH:MM (24 h) when the note names a time ("오후 3시" is 15:00), else null;
recurrence as an RFC 5545 RRULE when the task repeats ("매주 월요일": FREQ=WEEKLY;BYDAY=MO, "every
other Tuesday": FREQ=WEEKLY;INTERVAL=2;BYDAY=TU, "every 3rd Friday": FREQ=MONTHLY;BYDAY=3FR),
else null; priority from markers only (p1, !!, 급함, urgent: critical; p2, !, 중요, important:
high; p3: medium; p4: low), else null; a category from `@word` or from the workspace's categories
when one fits; tags from `#word` first, then 1 to 3 short tags preferring the workspace's
existing tags. source_text is the part of the note the task comes from.
Workspace categories: {categories}
Workspace tags: {vocabulary}

Note: {text}"""


def _read_tags(answer) -> list[str]:
    tags = answer.get("tags") if isinstance(answer, dict) else None
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ProviderError("Gemini tag answer was not a list of strings")
    return tags


def _read_tasks(answer) -> list[dict]:
    tasks = answer.get("tasks") if isinstance(answer, dict) else None
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise ProviderError("Gemini task answer was not a list of tasks")
    return tasks


def _retry_delay(error: errors.APIError) -> float | None:
    """The server's RetryInfo delay ("1.5s") when it sent one."""
    details = (error.details or {}).get("error", {}).get("details", []) if error.details else []
    for detail in details:
        match = re.fullmatch(r"(\d+(?:\.\d+)?)s", str(detail.get("retryDelay", "")))
        if match:
            return float(match.group(1))
    return None


class GeminiProvider:
    def __init__(
        self,
        *,
        api_key: str,
        dim: int,
        embedding_model: str,
        text_model: str,
        base_url: str = "",
        max_retries: int = 2,
    ):
        self.dim = dim
        self.model = embedding_model
        self.text_model = text_model
        self.embedding_model = f"gemini:{embedding_model}:{dim}"
        self.max_retries = max_retries
        options = types.HttpOptions(base_url=base_url or None)
        self._client = genai.Client(api_key=api_key, http_options=options)

    def _call(self, kind: str, items: int, func, *, deadline: float):
        """Run func(timeout_ms) with bounded retries; every path ends by the deadline."""
        attempt = 0
        started = time.monotonic()
        while True:
            remaining = deadline - time.monotonic()
            if remaining < MIN_ATTEMPT_S:
                self._log(kind, items, started, "deadline")
                raise ProviderError(f"Gemini {kind} did not answer within the deadline")
            try:
                result = func(max(1, int(remaining * 1000)))
                self._log(kind, items, started, "ok")
                return result
            except errors.APIError as exc:
                delay = _retry_delay(exc) or 0.5 * 2**attempt
                fits = time.monotonic() + delay + MIN_ATTEMPT_S < deadline
                if exc.code in RETRYABLE and attempt < self.max_retries and fits:
                    attempt += 1
                    time.sleep(delay)
                    continue
                self._log(kind, items, started, f"http_{exc.code}")
                raise ProviderError(
                    f"Gemini {kind} failed with HTTP {exc.code}"
                    + (f": {exc.message}"[:200] if exc.code == REJECTED and exc.message else ""),
                    retry_after=_retry_delay(exc),
                    rejected=exc.code == REJECTED,
                ) from None
            except ProviderError:
                self._log(kind, items, started, "malformed")
                raise
            except Exception as exc:  # timeouts, connection errors, undecodable answers
                self._log(kind, items, started, type(exc).__name__)
                raise ProviderError(f"Gemini {kind} failed: {type(exc).__name__}") from None

    @staticmethod
    def _log(kind: str, items: int, started: float, outcome: str) -> None:
        record_provider_call("gemini", kind, items, started, outcome)

    def embed(self, texts: list[str], *, deadline_s: float) -> np.ndarray:
        deadline = time.monotonic() + deadline_s
        parts = [
            self._embed_batch(texts[i : i + EMBED_BATCH], deadline)
            for i in range(0, len(texts), EMBED_BATCH)
        ]
        return np.vstack(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)

    def _embed_batch(self, texts: list[str], deadline: float) -> np.ndarray:
        def request(timeout_ms: int):
            config = types.EmbedContentConfig(
                output_dimensionality=self.dim,
                http_options=types.HttpOptions(timeout=timeout_ms),
            )
            response = self._client.models.embed_content(
                model=self.model, contents=texts, config=config
            )
            vectors = [e.values for e in (response.embeddings or [])]
            if len(vectors) != len(texts) or any(v is None or len(v) != self.dim for v in vectors):
                raise ProviderError(
                    f"Gemini returned {len(vectors)} embeddings of the wrong shape for {len(texts)} texts"
                )
            array = np.asarray(vectors, dtype=np.float32)
            if not np.isfinite(array).all():
                raise ProviderError("Gemini returned non-finite embedding values")
            return array

        # Truncated (output_dimensionality) Gemini vectors are not unit length: normalise again.
        return l2_normalise(self._call("embed", len(texts), request, deadline=deadline))

    def suggest_tags(self, text: str, vocabulary: list[str], *, deadline_s: float) -> list[str]:
        prompt = TAGS_PROMPT.format(
            vocabulary=json.dumps(vocabulary, ensure_ascii=False), text=text
        )
        return self._generate_json(prompt, TAGS_SCHEMA, "tags", deadline_s, 256, _read_tags)

    def parse_tasks(
        self,
        text: str,
        *,
        today: str,
        vocabulary: list[str],
        categories: list[str],
        deadline_s: float,
    ) -> list[dict]:
        prompt = PARSE_PROMPT.format(
            today=today,
            categories=json.dumps(categories, ensure_ascii=False),
            vocabulary=json.dumps(vocabulary, ensure_ascii=False),
            text=text,
        )
        return self._generate_json(prompt, PARSE_SCHEMA, "parse", deadline_s, 2048, _read_tasks)

    def _generate_json(
        self, prompt: str, schema: dict, kind: str, deadline_s: float, max_tokens: int, read
    ):
        """One structured-output call: read(the model's JSON answer), or ProviderError (`read`
        raises it for an answer off the schema)."""

        def request(timeout_ms: int):
            config = types.GenerateContentConfig(
                response_mime_type="application/json",
                response_schema=schema,
                # gemini-2.5-flash's thinking tokens count against the output limit: no thinking.
                thinking_config=types.ThinkingConfig(thinking_budget=0),
                max_output_tokens=max_tokens,
                temperature=0.2,
                http_options=types.HttpOptions(timeout=timeout_ms),
            )
            response = self._client.models.generate_content(
                model=self.text_model, contents=prompt, config=config
            )
            candidate = (response.candidates or [None])[0]
            if candidate is None or candidate.finish_reason != types.FinishReason.STOP:
                reason = getattr(candidate, "finish_reason", None)
                raise ProviderError(
                    f"Gemini {kind} answer was cut off or blocked (finish reason {reason})"
                )
            try:
                answer = json.loads(response.text or "")
            except ValueError:
                raise ProviderError(f"Gemini {kind} answer was not the requested JSON") from None
            return read(answer)

        return self._call(kind, 1, request, deadline=time.monotonic() + deadline_s)
