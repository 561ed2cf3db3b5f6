"""Caches of results that are expensive to make and never change: the one cache helper.

A :class:`Cache` is a named least-recently-used map in this process (cachetools, behind a
lock, since request threads and job threads share it). A cache made with ``shared=True``
also keeps its values in Redis when the app has ``REDIS_URL``, so every web server and
worker process reuses what one of them made: a process that misses locally asks Redis
before making the value itself. Redis holds bytes only (each cache says how its values
become bytes; no pickles), with a time to live so that it never fills up.

Keys are tuples whose first item is the object's id, and they name the *content*: a run's
finish time, a data set's content hash and parse options, a model version's creation time.
A change (a re-parse, a retrained run, an id reused after a delete) therefore never meets a
stale value. :meth:`Cache.drop` forgets one object's entries at once (here and in Redis)
when it is deleted, to free the memory; other processes' local copies of a deleted object
can no longer be asked for and age out.

Redis is a help, never a need: when it does not answer, the cache logs it, works locally
and tries Redis again after :data:`RETRY_AFTER` seconds.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from cachetools import LRUCache
from flask import current_app, has_app_context

from webapp.lazy import lazy_import

np = lazy_import("numpy")  # for the data-frame codec only (see webapp.lazy)
pd = lazy_import("pandas")

log = logging.getLogger(__name__)

PREFIX = "playground:cache"
TTL_SECONDS = 24 * 3600
RETRY_AFTER = 30.0
# Redis answers in well under a millisecond here; a slow one must not hold a page back.
SOCKET_TIMEOUT = 0.5
# Larger values stay in their process: moving them costs about what making them does.
MAX_SHARED_BYTES = 64 * 1024 * 1024


class Cache:
    """One named cache: ``maxsize`` values in this process, and Redis too if ``shared``."""

    def __init__(
        self,
        name: str,
        *,
        maxsize: int,
        shared: bool = False,
        dumps: Callable[[Any], bytes] | None = None,
        loads: Callable[[bytes], Any] | None = None,
        ttl: int = TTL_SECONDS,
        max_bytes: int = MAX_SHARED_BYTES,
    ):
        if shared and (dumps is None) != (loads is None):
            raise ValueError("A shared cache needs both dumps and loads (or neither, for bytes).")
        self.name, self.shared, self.ttl, self.max_bytes = name, shared, ttl, max_bytes
        self._dumps = dumps or (lambda value: value)
        self._loads = loads or (lambda data: data)
        self._local: LRUCache = LRUCache(maxsize)
        self._lock = threading.Lock()

    # -- the two tiers ------------------------------------------------------------------

    def get(self, key: tuple) -> Any | None:
        with self._lock:
            value = self._local.get(key)
        if value is not None or not self.shared:
            return value
        data = _redis_call(lambda r: r.get(self._redis_key(key)))
        if data is None:
            return None
        value = self._loads(data)
        with self._lock:
            self._local[key] = value
        return value

    def put(self, key: tuple, value: Any, *, data: bytes | None = None) -> None:
        """Keep ``value`` (``data``: its bytes for Redis, when the caller has them)."""
        with self._lock:
            self._local[key] = value
        if self.shared and _redis_url() is not None:
            data = self._dumps(value) if data is None else data
            if len(data) <= self.max_bytes:
                _redis_call(lambda r: r.set(self._redis_key(key), data, ex=self.ttl))

    def get_or_make(self, key: tuple, make: Callable[[], Any]) -> Any:
        value = self.get(key)
        if value is None:
            value = make()
            self.put(key, value)
        return value

    def drop(self, object_id: Hashable) -> None:
        """Forget every entry of one object (the first item of its keys)."""
        with self._lock:
            for key in [k for k in self._local if k[0] == object_id]:
                del self._local[key]
        if self.shared:
            pattern = f"{PREFIX}:{self.name}:{_part(object_id)}:*"

            def delete(r):
                keys = list(r.scan_iter(match=pattern, count=500))
                if keys:
                    r.delete(*keys)

            _redis_call(delete)

    def clear(self) -> None:
        """Empty this process's tier (tests; Redis entries expire on their own)."""
        with self._lock:
            self._local.clear()

    def __len__(self) -> int:
        return len(self._local)

    def _redis_key(self, key: tuple) -> str:
        return ":".join([PREFIX, self.name, *(_part(p) for p in key)])


def _part(value) -> str:
    # Escape the separator, so ("a:b",) and ("a", "b") are different keys.
    return str(value).replace("%", "%25").replace(":", "%3A")


# -- the app's Redis -------------------------------------------------------------------------

_state_lock = threading.Lock()
_clients: dict[str, Any] = {}
_down_until: dict[str, float] = {}


def _redis_url() -> str | None:
    """The app's Redis, unless there is none or it failed in the last RETRY_AFTER seconds."""
    url = current_app.config.get("REDIS_URL") if has_app_context() else None
    if not url or _down_until.get(url, 0.0) > time.monotonic():
        return None
    return url


def _redis_call(action: Callable[[Any], Any]) -> Any:
    """``action(redis)`` on the app's Redis; None when there is none or it does not answer."""
    url = _redis_url()
    if url is None:
        return None
    client = _clients.get(url)
    if client is None:
        from redis import Redis

        with _state_lock:
            client = _clients.setdefault(
                url,
                Redis.from_url(
                    url, socket_connect_timeout=SOCKET_TIMEOUT, socket_timeout=SOCKET_TIMEOUT
                ),
            )
    try:
        return action(client)
    except Exception as exc:  # any Redis or network error: the cache is only a help
        _down_until[url] = time.monotonic() + RETRY_AFTER
        log.warning("Cache: Redis did not answer (%s); local caching only for %gs", exc,
                    RETRY_AFTER)  # fmt: skip
        return None


# -- codecs ----------------------------------------------------------------------------------


def frame_to_bytes(frame: pd.DataFrame) -> bytes:
    """A parsed data set as bytes (NumPy's npz, no pickle): numbers as they are, text as one
    UTF-8 string with each value's length and a missing-value mask (fixed-width NumPy text
    would make every value as long as the longest)."""
    arrays: dict[str, np.ndarray] = {}
    kinds = []
    for i, (_, column) in enumerate(frame.items()):
        if pd.api.types.is_numeric_dtype(column.dtype):
            arrays[f"c{i}"] = column.to_numpy()
            kinds.append(["numeric", str(column.dtype)])
        else:
            missing = column.isna().to_numpy()
            values = [str(v) for v in column.to_numpy(dtype=object)[~missing]]
            arrays[f"c{i}"] = np.frombuffer("".join(values).encode(), dtype=np.uint8)
            arrays[f"n{i}"] = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
            arrays[f"m{i}"] = missing
            kinds.append(["text", str(column.dtype)])
    meta = {"names": [str(n) for n in frame.columns], "kinds": kinds, "rows": len(frame)}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def frame_from_bytes(data: bytes) -> pd.DataFrame:
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        meta = json.loads(arrays["meta"].tobytes().decode())
        columns = []
        for i, (kind, dtype) in enumerate(meta["kinds"]):
            if kind == "numeric":
                columns.append(pd.Series(arrays[f"c{i}"], dtype=dtype))
                continue
            text = arrays[f"c{i}"].tobytes().decode()
            ends = np.cumsum(arrays[f"n{i}"]).tolist()
            missing = arrays[f"m{i}"]
            objects = np.full(len(missing), np.nan, dtype=object)
            objects[~missing] = [text[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
            columns.append(pd.Series(objects, dtype=dtype))
    frame = pd.concat(columns, axis=1) if columns else pd.DataFrame(index=range(meta["rows"]))
    frame.columns = meta["names"]
    frame.index = pd.RangeIndex(meta["rows"])
    return frame
