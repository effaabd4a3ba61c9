"""Where checkpoints go once signed: somewhere a database writer cannot reach.

``DirectorySink``: one file per checkpoint (``0000000001.json`` …), created exclusively and
never rewritten; point it at a folder the database's users cannot write (another machine's
mount, a WORM bucket synced from it). ``HttpSink``: each checkpoint POSTed as JSON to a URL
(an object store, a transparency log, a colleague's service); ``GET`` on the same URL lists
them (a JSON array, or one JSON object a line). ``SEAMLINE_AUDIT_CHECKPOINTS`` names either.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Protocol

from seamline.audit._checkpoint import Checkpoint
from seamline.errors import AuditError

SINK_ENV = "SEAMLINE_AUDIT_CHECKPOINTS"
TOKEN_ENV = "SEAMLINE_AUDIT_CHECKPOINTS_TOKEN"  # a Bearer token for an HTTP sink


class Sink(Protocol):
    where: str

    def publish(self, checkpoint: Checkpoint) -> None: ...

    def documents(self) -> list[tuple[str, str]]:
        """(name, text) of every document the sink holds, in its order."""
        ...


class DirectorySink:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self.where = str(self.path)

    def publish(self, checkpoint: Checkpoint) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        target = self.path / f"{checkpoint.idx:010d}.json"
        text = checkpoint.to_json()
        # Written whole under a private name, then linked into place: the link fails if the
        # name exists, so a file is never rewritten, and never seen half-written.
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".incoming-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, target)
            except FileExistsError:
                if target.read_text(encoding="utf-8") == text:
                    return  # published before (a retry, or another process of this store)
                raise AuditError(f"Checkpoint {checkpoint.idx} is already published in "
                                 f"{self.path} with other content; another chain (or writer) "
                                 "uses this folder.") from None
        finally:
            os.unlink(tmp)

    def documents(self) -> list[tuple[str, str]]:
        if not self.path.is_dir():
            return []
        return [(p.name, p.read_text(encoding="utf-8", errors="replace"))
                for p in sorted(self.path.glob("*.json"))]


class HttpSink:
    def __init__(self, url: str, *, token: str | None = None, timeout_s: float = 10.0) -> None:
        self.url = url
        self.where = url.split("?", 1)[0]
        self._token = token if token is not None else os.environ.get(TOKEN_ENV, "")
        self.timeout_s = timeout_s

    def _request(self, method: str, body: bytes | None = None) -> bytes:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        req = urllib.request.Request(self.url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return resp.read()
        except urllib.error.HTTPError as exc:
            raise AuditError(f"The checkpoint sink {self.where} answered {exc.code} to {method}.") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise AuditError(f"The checkpoint sink {self.where} cannot be reached: {reason}.") from None

    def publish(self, checkpoint: Checkpoint) -> None:
        self._request("POST", checkpoint.to_json().encode())

    def documents(self) -> list[tuple[str, str]]:
        text = self._request("GET").decode("utf-8", errors="replace").strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                items = json.loads(text)
            except ValueError:
                raise AuditError(f"The checkpoint sink {self.where} did not answer a JSON list.") from None
            return [(f"#{i + 1}", json.dumps(item)) for i, item in enumerate(items)]
        return [(f"line {i + 1}", line) for i, line in enumerate(text.splitlines()) if line.strip()]


def sink_for(target: str | Path) -> Sink:
    text = str(target)
    if text.startswith(("http://", "https://")):
        return HttpSink(text)
    return DirectorySink(text)
