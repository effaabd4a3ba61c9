"""The provider embedder talks to an OpenAI-compatible /embeddings endpoint (a local server here)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from retrieval_fixtures import CORPUS

from seamline.retrieval import ChunkIndex, Embedder, HashingEmbedder, OpenAIEmbedder, retrieve


class _Embeddings(BaseHTTPRequestHandler):
    """Answers like OpenAI's /v1/embeddings, with the hashing embedder's vectors."""

    calls: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).calls.append({"path": self.path, **body})
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        vectors = HashingEmbedder(32).embed(inputs)
        data = [{"object": "embedding", "index": i, "embedding": v}
                for i, v in reversed(list(enumerate(vectors)))]  # out of order on purpose
        reply = json.dumps({"object": "list", "data": data, "model": body["model"],
                            "usage": {"prompt_tokens": 1, "total_tokens": 1}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server():
    _Embeddings.calls = []
    httpd = HTTPServer(("127.0.0.1", 0), _Embeddings)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


def test_the_provider_embedder_batches_and_keeps_the_input_order(server):
    embedder = OpenAIEmbedder("text-embedding-3-small", base_url=server, api_key="k",
                              batch_size=2)
    assert isinstance(embedder, Embedder)
    texts = ["refunds", "billing", "regions"]
    got, want = embedder.embed(texts), HashingEmbedder(32).embed(texts)
    assert [v for row in got for v in row] == pytest.approx([v for row in want for v in row])
    assert [len(c["input"]) for c in _Embeddings.calls] == [2, 1]
    assert _Embeddings.calls[0]["path"] == "/v1/embeddings"
    assert _Embeddings.calls[0]["model"] == "text-embedding-3-small"


def test_an_index_with_provider_embeddings_answers_in_vector_mode(server, tmp_path):
    embedder = OpenAIEmbedder("m", base_url=server, api_key="k")
    with ChunkIndex.open(tmp_path / "i.db", embedder) as index:
        index.build(CORPUS)
        result = retrieve(index, "Which PostgreSQL versions are supported?", mode="vector", k=3)
    assert result.hits[0].chunk.source == "databases.md"


def test_hashing_vectors_are_unit_length_and_deterministic():
    a, b = HashingEmbedder().embed(["Refund policy", "Refund policy"])
    assert a == b and sum(x * x for x in a) == pytest.approx(1.0)
