"""Save and load fitted models without pickle.

A model file is a ZIP archive (readable by ``numpy.load`` as an ``.npz``) holding
``meta.json`` and one ``.npy`` member per NumPy array. ``meta.json`` records the format
name and version, the mlcore version, and the model (and optional preprocessor) as a
tree of JSON values. An estimator is ``{"__estimator__": "mlcore.cluster.KMeans",
"params": {...}, "state": {...}}`` where ``params`` is ``get_params()`` and ``state``
the fitted attributes (names ending in ``_``); arrays are ``{"__ndarray__": "a0"}``
references to members. A free-form ``metadata`` dict (metrics, target name, ...) is
stored alongside.

Loading never executes code from the file: class names are looked up in an allow-list
(:data:`ALLOWED_CLASSES` plus :func:`register`), arrays are read with
``allow_pickle=False`` and must have a numeric, bool or unicode dtype, and anything
unexpected (an unknown class, a bad version, a truncated or corrupted file) raises
``ValueError``.
"""

from __future__ import annotations

import importlib
import io
import json
import math
import os
import struct
import zipfile
import zlib
from typing import NamedTuple

import numpy as np

from mlcore.base import BaseEstimator

__all__ = [
    "ALLOWED_CLASSES",
    "FORMAT_VERSION",
    "SavedModel",
    "dumps",
    "load",
    "loads",
    "register",
    "save",
    "unregister",
]

FORMAT_NAME = "mlcore-model"
FORMAT_VERSION = 1
META_MEMBER = "meta.json"
# Public names of every class a file may name. Resolved lazily, by importing only these
# mlcore modules, so a file cannot make the loader import anything else.
ALLOWED_CLASSES = (
    "mlcore.cluster.KMeans",
    "mlcore.tree.DecisionTreeClassifier",
    "mlcore.tree.DecisionTreeRegressor",
    "mlcore.tree.Tree",
    "mlcore.ensemble.RandomForestClassifier",
    "mlcore.ensemble.RandomForestRegressor",
    "mlcore.preprocessing.TabularPreprocessor",
)
_ALLOWED_DTYPE_KINDS = frozenset("biufU")
_MAX_META_BYTES = 256 * 2**20
_MARKERS = ("__ndarray__", "__estimator__", "__object__", "__float__", "__tuple__", "__dict__")
_extra_classes: dict[str, type] = {}
# What zipfile, zlib, json and the decoder raise on damaged input; all become ValueError.
_CORRUPTION_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    struct.error,
    OSError,
    EOFError,
    KeyError,
    TypeError,
    AttributeError,
    NotImplementedError,
    RecursionError,
)


class SavedModel(NamedTuple):
    """What :func:`load` returns.

    Attributes
    ----------
    model : estimator
        The fitted estimator.
    preprocessor : TabularPreprocessor or None
        The fitted preprocessor saved with it, if any.
    metadata : dict
        The free-form metadata given to :func:`save`.
    info : dict
        File facts: ``format_version``, ``mlcore_version``, ``estimator`` (class name),
        ``params``.
    """

    model: object
    preprocessor: object
    metadata: dict
    info: dict


def register(cls: type, name: str | None = None) -> type:
    """Add ``cls`` to the allow-list under ``name`` (default ``module.qualname``).

    Meant for estimators defined outside mlcore (and tests); usable as a decorator.
    Registered classes must follow the estimator contract (or, for plain state objects
    like ``Tree``, hold only arrays and numbers).
    """
    _extra_classes[name or f"{cls.__module__}.{cls.__qualname__}"] = cls
    return cls


def unregister(name_or_cls) -> None:
    """Remove a class added with :func:`register` (by name or class)."""
    for name, cls in list(_extra_classes.items()):
        if name_or_cls in (name, cls):
            del _extra_classes[name]


def save(model, path, *, preprocessor=None, metadata=None) -> None:
    """Write a fitted model (and its preprocessor and metadata) to a single file.

    Parameters
    ----------
    model : estimator
        A fitted mlcore estimator (or a registered class).
    path : str or os.PathLike
        Destination; conventionally ending in ``.npz``. Written atomically enough for
        one writer: a temporary file renamed into place.
    preprocessor : TabularPreprocessor, optional
        The fitted transform that produced the model's input.
    metadata : dict, optional
        JSON-like values (str keys; numbers, strings, lists, dicts, NumPy arrays),
        e.g. ``{"target": "species", "metrics": {...}}``.

    Raises
    ------
    ValueError
        When something in the model cannot be stored without pickle.
    """
    data = dumps(model, preprocessor=preprocessor, metadata=metadata)
    path = os.fspath(path)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as file:
            file.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def dumps(model, *, preprocessor=None, metadata=None) -> bytes:
    """Like :func:`save`, but return the file's bytes (e.g. for a database column)."""
    if metadata is not None and not isinstance(metadata, dict):
        raise ValueError(f"metadata must be a dict, got {type(metadata).__name__}.")
    encoder = _Encoder()
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "mlcore_version": _mlcore_version(),
        "model": encoder.estimator(model, "model"),
        "preprocessor": None
        if preprocessor is None
        else encoder.estimator(preprocessor, "preprocessor"),
        "metadata": encoder.value(metadata or {}, "metadata"),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _write_member(archive, META_MEMBER, json.dumps(meta, allow_nan=False).encode())
        for key, array in encoder.arrays.items():
            member = io.BytesIO()
            np.save(member, array, allow_pickle=False)
            _write_member(archive, f"{key}.npy", member.getvalue())
    return buffer.getvalue()


def load(path) -> SavedModel:
    """Read a file written by :func:`save`.

    Raises
    ------
    ValueError
        If the file is not an mlcore model file, is truncated or corrupted, has an
        unsupported format version, or names a class outside the allow-list.
    OSError
        If the file cannot be read.
    """
    with open(os.fspath(path), "rb") as file:
        return loads(file.read())


def loads(data: bytes) -> SavedModel:
    """Like :func:`load`, from the bytes :func:`dumps` returned."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValueError(f"Expected bytes, got {type(data).__name__}.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"Not an mlcore model file (not a valid archive: {exc}).") from None
    try:
        with archive:
            meta = _read_meta(archive)
            decoder = _Decoder(archive)
            if "__estimator__" not in meta["model"]:
                raise ValueError("Corrupted mlcore model file (the model is no estimator).")
            model = decoder.estimator(meta["model"])
            raw_pre = meta.get("preprocessor")
            preprocessor = None if raw_pre is None else decoder.estimator(raw_pre)
            metadata = decoder.value(meta.get("metadata", {}))
            info = {
                "format_version": meta["format_version"],
                "mlcore_version": meta.get("mlcore_version"),
                "estimator": meta["model"]["__estimator__"],
                "params": model.get_params(),
            }
    except _CORRUPTION_ERRORS as exc:
        raise ValueError(f"Corrupted mlcore model file ({type(exc).__name__}: {exc}).") from None
    return SavedModel(model, preprocessor, metadata, info)


def _write_member(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    # A fixed timestamp makes dumps() deterministic: same model, same bytes.
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def _read_meta(archive: zipfile.ZipFile) -> dict:
    try:
        size = archive.getinfo(META_MEMBER).file_size
    except KeyError:
        raise ValueError(f"Not an mlcore model file (no {META_MEMBER}).") from None
    if size > _MAX_META_BYTES:
        raise ValueError(f"Not an mlcore model file ({META_MEMBER} is too large).")
    try:
        meta = json.loads(archive.read(META_MEMBER))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"Corrupted mlcore model file ({META_MEMBER}: {exc}).") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ValueError("Not an mlcore model file (unknown format name).")
    version = meta.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise ValueError(
            f"Unsupported model file format version {version!r}; this mlcore reads "
            f"version {FORMAT_VERSION}. Retrain the model or upgrade mlcore."
        )
    if not isinstance(meta.get("model"), dict):
        raise ValueError("Corrupted mlcore model file (no model entry).")
    return meta


def _mlcore_version() -> str:
    import mlcore

    return getattr(mlcore, "__version__", "unknown")


def _allowed() -> dict[str, type]:
    """Resolve the allow-list to classes (every name must resolve: a typo is a bug)."""
    classes = {}
    for name in ALLOWED_CLASSES:
        module_name, _, attr = name.rpartition(".")
        classes[name] = getattr(importlib.import_module(module_name), attr)
    classes.update(_extra_classes)
    return classes


def _class_name(obj) -> str:
    # The registered (public) name, so files do not depend on private module layout.
    for name, cls in _allowed().items():
        if type(obj) is cls:
            return name
    raise ValueError(
        f"Cannot save a {type(obj).__module__}.{type(obj).__qualname__}: only mlcore "
        "estimators (and classes added with mlcore.persistence.register) can be saved."
    )


class _Encoder:
    """Turn an object tree into JSON values, collecting arrays on the side."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self.classes = tuple(_allowed().values())

    def estimator(self, obj, where: str) -> dict:
        name = _class_name(obj)
        # Estimators keep their fitted state in attributes ending in "_"; a plain state
        # object (mlcore.tree.Tree) is all of its attributes.
        is_estimator = isinstance(obj, BaseEstimator)
        state = {
            key: self.value(value, f"{where}.{key}")
            for key, value in vars(obj).items()
            if not key.startswith("__") and (key.endswith("_") or not is_estimator)
        }
        if not is_estimator:
            return {"__object__": name, "state": state}
        params = {k: self.value(v, f"{where}.{k}") for k, v in obj.get_params().items()}
        return {"__estimator__": name, "params": params, "state": state}

    def value(self, value, where: str):
        if value is None or isinstance(value, bool | str):
            return value
        if isinstance(value, np.generic) and not isinstance(value, np.ndarray):
            if value.dtype.kind not in _ALLOWED_DTYPE_KINDS:
                raise ValueError(f"Cannot save {where}: NumPy scalar of dtype {value.dtype}.")
            return self.value(value.item(), where)
        if isinstance(value, int):
            return int(value)
        if isinstance(value, float):
            return value if math.isfinite(value) else {"__float__": repr(float(value))}
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in _ALLOWED_DTYPE_KINDS or value.dtype.hasobject:
                raise ValueError(
                    f"Cannot save {where}: array of dtype {value.dtype}; only numeric, "
                    "bool and unicode arrays can be stored without pickle."
                )
            key = f"a{len(self.arrays)}"
            self.arrays[key] = value
            return {"__ndarray__": key}
        if isinstance(value, list):
            return [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {"__tuple__": [self.value(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise ValueError(f"Cannot save {where}: dict keys must be strings.")
            items = {k: self.value(v, f"{where}[{k!r}]") for k, v in value.items()}
            # Plain JSON objects unless a key could be mistaken for a marker.
            return {"__dict__": items} if any(k.startswith("__") for k in value) else items
        if type(value) in self.classes:
            return self.estimator(value, where)
        raise ValueError(
            f"Cannot save {where}: values of type {type(value).__name__} are not supported."
        )


class _Decoder:
    """Rebuild objects from JSON values, reading arrays from the archive."""

    def __init__(self, archive: zipfile.ZipFile):
        self.archive = archive
        self.allowed = _allowed()

    def _class(self, name) -> type:
        cls = self.allowed.get(name) if isinstance(name, str) else None
        if cls is None:
            raise ValueError(f"Refusing to load class {name!r}: not in the allow-list.")
        return cls

    def estimator(self, raw):
        if not isinstance(raw, dict) or not ({"__estimator__", "__object__"} & raw.keys()):
            raise ValueError("Corrupted mlcore model file (expected an estimator entry).")
        state = raw.get("state")
        if not isinstance(state, dict):
            raise ValueError("Corrupted mlcore model file (estimator without state).")
        if "__object__" in raw:
            cls = self._class(raw["__object__"])
            # Not calling __init__: a state object is just its attributes.
            obj = cls.__new__(cls)
        else:
            cls = self._class(raw["__estimator__"])
            if not issubclass(cls, BaseEstimator):
                raise ValueError(f"Corrupted mlcore model file ({cls.__name__} is no estimator).")
            params = raw.get("params")
            if not isinstance(params, dict):
                raise ValueError("Corrupted mlcore model file (estimator without params).")
            obj = cls()
            obj.set_params(**{k: self.value(v) for k, v in params.items()})
        is_estimator = "__estimator__" in raw
        for key, value in state.items():
            ok = isinstance(key, str) and key.isidentifier() and not key.startswith("__")
            # Estimators only ever carry fitted attributes (ending in "_").
            if not ok or (is_estimator and not key.endswith("_")):
                raise ValueError(f"Corrupted mlcore model file (bad attribute name {key!r}).")
            setattr(obj, key, self.value(value))
        return obj

    def value(self, raw):
        if raw is None or isinstance(raw, bool | int | float | str):
            return raw
        if isinstance(raw, list):
            return [self.value(v) for v in raw]
        if not isinstance(raw, dict):
            raise ValueError(f"Corrupted mlcore model file (unexpected {type(raw).__name__}).")
        marker = next(iter(raw)) if len(raw) == 1 else None
        if "__estimator__" in raw or "__object__" in raw:
            return self.estimator(raw)
        if marker == "__ndarray__":
            return self.array(raw[marker])
        if marker == "__float__":
            if raw[marker] not in ("nan", "inf", "-inf"):
                raise ValueError("Corrupted mlcore model file (bad float).")
            return float(raw[marker])
        if marker == "__tuple__" and isinstance(raw[marker], list):
            return tuple(self.value(v) for v in raw[marker])
        if marker == "__dict__" and isinstance(raw[marker], dict):
            return {k: self.value(v) for k, v in raw[marker].items()}
        if any(k in _MARKERS for k in raw):
            raise ValueError("Corrupted mlcore model file (malformed entry).")
        return {k: self.value(v) for k, v in raw.items()}

    def array(self, key) -> np.ndarray:
        if not isinstance(key, str) or not key.isalnum():
            raise ValueError("Corrupted mlcore model file (bad array reference).")
        try:
            data = self.archive.read(f"{key}.npy")
        except KeyError:
            raise ValueError(f"Corrupted mlcore model file (array {key!r} missing).") from None
        try:
            array = np.load(io.BytesIO(data), allow_pickle=False)
        except ValueError as exc:
            raise ValueError(f"Refusing to load array {key!r}: {exc}") from None
        if not isinstance(array, np.ndarray):
            raise ValueError(f"Refusing to load array {key!r}: not a .npy array.")
        if array.dtype.kind not in _ALLOWED_DTYPE_KINDS:
            raise ValueError(f"Refusing to load array {key!r} of dtype {array.dtype}.")
        return array
