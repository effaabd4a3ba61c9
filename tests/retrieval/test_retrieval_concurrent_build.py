"""Workers starting together each build the same index file: one builds, the other waits."""

from __future__ import annotations

import threading
import time

from retrieval_fixtures import CORPUS

from seamline.retrieval import ChunkIndex, HashingEmbedder


class SlowEmbedder(HashingEmbedder):
    """Embedding that takes a while, as a real model does, so the two builds overlap."""

    def embed(self, texts: list[str]) -> list[list[float]]:
        time.sleep(0.5)  # 14 files: ~7 s, longer than sqlite3's default 5 s wait
        return super().embed(texts)


def test_two_builders_of_one_file_both_finish_and_the_work_is_done_once(tmp_path):
    path = tmp_path / "index.db"
    reports, errors = [], []

    def build() -> None:
        try:
            with ChunkIndex.open(path, SlowEmbedder()) as index:
                reports.append(index.build(CORPUS))
        except Exception as exc:  # noqa: BLE001 -- the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=build) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    written = sorted(r.chunks_written for r in reports)
    assert written[0] == 0 and written[1] == 41  # the second found it all unchanged
    with ChunkIndex.open(path, HashingEmbedder()) as index:
        assert len(index) == 41
