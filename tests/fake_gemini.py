"""A fake Gemini HTTP server on 127.0.0.1 for tests, benchmarks and offline demos.

It answers the REST calls google-genai makes (`models/{model}:batchEmbedContents`, `:embedContent`,
`:generateContent`) with deterministic data, counts every call, and can be told to fail: HTTP 500,
429 with a retry delay, a hang longer than the client's deadline, or malformed JSON.

    python -m tests.fake_gemini --port 8090   # then GEMINI_BASE_URL=http://127.0.0.1:8090
"""

import hashlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

MODES = ("ok", "error500", "error429", "hang", "garbage", "wrong_count")


def fake_vector(text: str, dim: int) -> list[float]:
    """A deterministic unit vector per text (not semantic: good for plumbing, not for meaning)."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    vector = np.random.default_rng(seed).standard_normal(dim)
    return (vector / np.linalg.norm(vector)).tolist()


class FakeGemini:
    def __init__(self, *, port: int = 0, default_dim: int = 3072):
        self.mode = "ok"
        self.hang_seconds = 30.0
        self.latency_s = 0.0  # every answer waits this long (Gemini's own is about 0.3 s)
        self.retry_delay_s = 1.0  # the RetryInfo delay of a 429
        self.tags_answer: list[str] = ["planning", "work", "writing"]
        # The answer to a task-parsing request (its schema names `source_text`).
        self.parse_answer: object = {"tasks": []}
        self.finish_reason = "STOP"
        # A batch holding a text with this in it answers 400 INVALID_ARGUMENT (the whole batch).
        self.reject_marker: str | None = None
        self.default_dim = default_dim
        self.calls: Counter[str] = Counter()
        self.requests: list[tuple[str, dict, dict]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "FakeGemini":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.mode = "ok"
            self.latency_s = 0.0
            self.retry_delay_s = 1.0
            self.finish_reason = "STOP"
            self.reject_marker = None
            self.parse_answer = {"tasks": []}
            self.calls.clear()
            self.requests.clear()

    def total_calls(self) -> int:
        return sum(self.calls.values())

    def _record(self, kind: str, path: str, body: dict, headers: dict) -> None:
        with self._lock:
            self.calls[kind] += 1
            self.requests.append((path, body, headers))

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                return

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                kind = self.path.rsplit(":", 1)[-1].split("?")[0]
                fake._record(kind, self.path, body, dict(self.headers))
                mode = fake.mode
                if fake.latency_s:
                    time.sleep(fake.latency_s)
                if mode == "hang":
                    time.sleep(fake.hang_seconds)
                    return self._send(504, {"error": {"code": 504, "message": "late"}})
                if mode == "error500":
                    return self._send(
                        500, {"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}
                    )
                if mode == "error429":
                    return self._send(429, {"error": {
                        "code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED",
                        "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{fake.retry_delay_s:g}s"}],
                    }})  # fmt: skip
                if mode == "garbage":
                    return self._send_raw(200, b'{"embeddings": [ {"values": [0.1, oops')
                if (
                    fake.reject_marker
                    and kind == "batchEmbedContents"
                    and any(
                        fake.reject_marker in part.get("text", "")
                        for request in body.get("requests", [])
                        for part in request.get("content", {}).get("parts", [])
                    )
                ):
                    return self._send(400, {"error": {
                        "code": 400, "message": "Request contains an invalid argument.",
                        "status": "INVALID_ARGUMENT",
                    }})  # fmt: skip
                if kind == "batchEmbedContents":
                    return self._send(200, fake._embed_answer(body.get("requests", []), mode))
                if kind == "embedContent":
                    return self._send(
                        200, {"embedding": fake._embed_answer([body], mode)["embeddings"][0]}
                    )
                if kind == "generateContent":
                    return self._send(200, fake._generate_answer(body))
                return self._send(404, {"error": {"code": 404, "message": f"no route {self.path}"}})

            def _send(self, status, payload):
                self._send_raw(status, json.dumps(payload).encode())

            def _send_raw(self, status, raw):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler

    def _embed_answer(self, requests: list[dict], mode: str) -> dict:
        embeddings = []
        for request in requests:
            text = " ".join(p.get("text", "") for p in request.get("content", {}).get("parts", []))
            dim = request.get("outputDimensionality") or self.default_dim
            embeddings.append({"values": fake_vector(text, dim)})
        if mode == "wrong_count":
            embeddings = embeddings[:-1]
        return {"embeddings": embeddings}

    def _generate_answer(self, body: dict) -> dict:
        parsing = "source_text" in json.dumps(body.get("generationConfig", {}))
        answer = self.parse_answer if parsing else {"tags": self.tags_answer}
        text = json.dumps(answer, ensure_ascii=False)
        return {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": text}]},
                    "finishReason": self.finish_reason,
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 10,
                "candidatesTokenCount": 5,
                "totalTokenCount": 15,
            },
            "modelVersion": "gemini-2.5-flash",
        }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds every answer waits")
    args = parser.parse_args()
    server = FakeGemini(port=args.port).start()
    server.latency_s = args.latency
    print(f"fake Gemini listening on {server.base_url}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
