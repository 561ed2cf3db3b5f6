"""What a batch prediction from the model page held, kept for the page to show after the download.

The browser's batch form posts the file and gets the answer as a download, streamed (see
:mod:`webapp.services.predictions`); the page stays, and asks for the summary of that batch
(rows predicted, rows with errors or warnings, how many rows each class or cluster got) until
the stream has ended. The answer itself is never stored: only this summary, a small JSON file
per batch under the instance folder, which every web worker of the host can read. A batch is
named by a random id the page sends with the form; the files are per user, so an id names
nothing of another user's, and they are deleted when the same user starts a batch
:data:`KEEP_SECONDS` later (reading one never writes).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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


def recorded(answer, store: SummaryStore, batch_id: str, record: dict) -> Iterator[bytes]:
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
