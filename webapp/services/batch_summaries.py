"""What a batch prediction from the model page held, kept for the page to show after the download.

The browser's batch form posts the file and gets the answer as a download, streamed (see
:mod:`webapp.services.predictions`); the page stays, and asks for the summary of that batch
(rows predicted, rows with errors or warnings, how many rows each class or cluster got) until
the stream has ended. The answer itself is never stored: only this summary, a small JSON
record per batch that every web server must be able to read: in Redis when ``REDIS_URL`` is
set (what several servers share; it expires by itself), else a file under the instance folder
(every web worker of the one host reads it; deleted when the same user starts a batch
:data:`KEEP_SECONDS` later; reading one never writes). A batch is named by a random id the page
sends with the form; records are per user, so an id names nothing of another user's.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

RUNNING, DONE, STOPPED, FAILED = "running", "done", "stopped", "failed"
KEEP_SECONDS = 3600
# A running batch whose record has not changed for this long has lost its web worker (each
# chunk of 10,000 rows, about 0.6 MB, updates it once the client has taken the chunk).
STALE_SECONDS = 300
_BATCH_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


def valid_id(batch_id: str | None) -> bool:
    return bool(batch_id) and _BATCH_ID.fullmatch(batch_id) is not None


@dataclass(frozen=True)
class SummaryStore:
    """Summaries of one user's batches, in ``folder`` (``<instance>/batch-summaries/<user>``)."""

    folder: Path

    @classmethod
    def for_user(cls, instance_path: str | Path, user_id: int) -> SummaryStore:
        return cls(Path(instance_path) / "batch-summaries" / str(int(user_id)))

    def _path(self, batch_id: str) -> Path:
        if not valid_id(batch_id):
            raise ValueError(f"Not a batch id: {batch_id!r}")
        return self.folder / f"{batch_id}.json"

    def write(self, batch_id: str, record: dict) -> None:
        """Store ``record`` (replacing the batch's last one) in one rename, so a reader never
        sees half a file."""
        path = self._path(batch_id)
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps({**record, "updated": time.time()}))
        partial.replace(path)

    def read(self, batch_id: str) -> dict | None:
        """The batch's last record, or None (unknown, or older than KEEP_SECONDS)."""
        path = self._path(batch_id)
        try:
            record = json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        if time.time() - record.get("updated", 0) > KEEP_SECONDS:
            return None
        return record

    def is_stale(self, record: dict) -> bool:
        return record["status"] == RUNNING and time.time() - record["updated"] > STALE_SECONDS

    def sweep(self) -> None:
        """Delete the records older than KEEP_SECONDS (when the user starts a batch)."""
        if not self.folder.is_dir():
            return
        cutoff = time.time() - KEEP_SECONDS
        for path in self.folder.iterdir():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except FileNotFoundError:  # another worker swept it first
                pass


class RedisSummaryStore:
    """The same records in Redis, for servers that share nothing but Redis and PostgreSQL."""

    _clients: dict = {}
    _lock = threading.Lock()

    def __init__(self, url: str, user_id: int):
        from redis import Redis

        with self._lock:
            self.client = self._clients.get(url)
            if self.client is None:
                self.client = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
                self._clients[url] = self.client
        self.prefix = f"playground:batch-summary:{int(user_id)}:"

    def write(self, batch_id: str, record: dict) -> None:
        if not valid_id(batch_id):
            raise ValueError(f"Not a batch id: {batch_id!r}")
        value = json.dumps({**record, "updated": time.time()})
        try:
            self.client.set(self.prefix + batch_id, value, ex=KEEP_SECONDS)
        except Exception:  # the summary is a help: the download goes on without it
            log.warning("Could not store the summary of batch %s", batch_id, exc_info=True)

    def read(self, batch_id: str) -> dict | None:
        if not valid_id(batch_id):
            raise ValueError(f"Not a batch id: {batch_id!r}")
        try:
            raw = self.client.get(self.prefix + batch_id)
        except Exception:
            log.warning("Could not read the summary of batch %s", batch_id, exc_info=True)
            return None
        return json.loads(raw) if raw else None

    is_stale = SummaryStore.is_stale

    def sweep(self) -> None:
        """Nothing to do: Redis expires the records."""


def store_for(config, instance_path: str | Path, user_id: int):
    """Where this app keeps ``user_id``'s batch summaries (Redis when configured)."""
    if config.get("REDIS_URL"):
        return RedisSummaryStore(config["REDIS_URL"], user_id)
    return SummaryStore.for_user(instance_path, user_id)


def recorded(answer, store, batch_id: str, record: dict) -> Iterator[bytes]:
    """``answer``'s chunks (a :class:`predictions.CsvAnswer`), with the batch recorded as
    running (rows so far after each chunk), then done with its summary, or stopped when the
    download was cut short. Runs after the request has ended: it needs no app context."""
    store.sweep()
    store.write(batch_id, {**record, "status": RUNNING, "summary": answer.summary.as_dict()})

    def chunks() -> Iterator[bytes]:
        status = STOPPED
        try:
            for chunk in answer:
                yield chunk
                store.write(
                    batch_id, {**record, "status": RUNNING, "summary": answer.summary.as_dict()}
                )
            status = DONE
        except Exception:
            status = FAILED
            raise
        finally:  # also when the client goes away (GeneratorExit)
            store.write(batch_id, {**record, "status": status, "summary": answer.summary.as_dict()})

    return chunks()
