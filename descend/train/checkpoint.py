"""Checkpoint files: nested training state in one safetensors file, written atomically.

A checkpoint is a `safetensors <https://github.com/huggingface/safetensors>`_ file. Its
tensors are every ndarray of the state (model weights ``model/<name>``, optimizer buffers
``optimizer/...``, best weights kept by callbacks, ...); everything else (epoch, step, RNG
states, model architecture, data preprocessing, options, history) is one JSON document in the
file's metadata under the key ``"descend"``, in which each array is replaced by a reference
``{"__tensor__": "<tensor name>"}``. The JSON also records the format name and version and a
SHA-256 of the tensor bytes, so a truncated, corrupted or foreign file is a clear
:class:`~descend.train.errors.CheckpointError`, never a confusing failure later.

Writing goes through :func:`descend.fileio.atomic_write`: a fresh temporary file (``mkstemp``)
in the same directory, flushed and fsync-ed, then renamed over the destination
(``os.replace``), so a checkpoint on disk is always complete, even if the process is killed or
the disk fills up while writing (a :class:`descend.fileio.WriteError` then names the file and
says the previous version is intact).

Reading the metadata (:func:`read_metadata`, :func:`tensor_shapes`) reads only the header, so
inspecting a file costs nothing however large it claims to be.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CheckpointError

__all__ = [
    "FORMAT", "VERSION", "save_checkpoint", "load_checkpoint", "read_metadata", "tensor_shapes", "is_checkpoint",
    "merge_unserializable", "Unserializable",
]

FORMAT = "descend-checkpoint"
VERSION = 1
METADATA_KEY = "descend"

_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U64": np.uint64, "U32": np.uint32, "U16": np.uint16,
    "U8": np.uint8, "BOOL": np.bool_,
}


# --------------------------------------------------------------------------- encoding

def _encode_array(obj: np.ndarray, path: str, tensors: dict[str, np.ndarray]) -> dict[str, str]:
    if obj.dtype.kind not in "fiub":
        raise TypeError(f"checkpoint: cannot store the array at {path!r} of dtype {obj.dtype}")
    key = path or "value"
    tensors[key] = np.ascontiguousarray(obj)
    return {"__tensor__": key}


def _encode_key(key: Any) -> Any:
    if isinstance(key, np.generic):
        key = key.item()
    if not isinstance(key, (str, int, float, bool)) and key is not None:
        return {"__unserializable__": repr(key)}
    return key


def _encode_dict(obj: dict[Any, Any], path: str, tensors: dict[str, np.ndarray]) -> Any:
    if all(isinstance(k, str) and not k.startswith("__") for k in obj):
        return {k: _encode(v, f"{path}/{k}" if path else k, tensors) for k, v in obj.items()}
    # Keys that JSON objects cannot hold as they are (ints, tuples, ...): a list of pairs.
    return {"__dict__": [[_encode_key(k), _encode(v, f"{path}/{i}", tensors)] for i, (k, v) in enumerate(obj.items())]}


def _encode(obj: Any, path: str, tensors: dict[str, np.ndarray]) -> Any:
    """``obj`` as JSON-able data, moving every ndarray into ``tensors``."""
    if isinstance(obj, np.ndarray):
        return _encode_array(obj, path, tensors)
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, dict):
        return _encode_dict(obj, path, tensors)
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, f"{path}/{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{path}/{i}", tensors) for i, v in enumerate(obj)]
    # Objects without a data representation (e.g. a schedule in an optimizer's param group):
    # recorded by repr; when loading, the value the live object already has is kept.
    return {"__unserializable__": repr(obj)}


class Unserializable:
    """Placeholder for a value that was not stored (see :func:`merge_unserializable`)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"<not stored: {self.text}>"


def _decode_tensor(key: Any, tensors: dict[str, np.ndarray]) -> np.ndarray:
    if key not in tensors:
        raise CheckpointError(f"the checkpoint's metadata refers to a tensor {key!r} it does not contain")
    return tensors[key]


def _decode_marked(obj: dict[str, Any], tensors: dict[str, np.ndarray]) -> Any:
    """A one-key object ``{"__tensor__"|"__tuple__"|"__dict__"|"__unserializable__": ...}``."""
    ((mark, value),) = obj.items()
    if mark == "__tensor__":
        return _decode_tensor(value, tensors)
    if mark == "__tuple__":
        return tuple(_decode(v, tensors) for v in value)
    if mark == "__dict__":
        return {(_decode(k, tensors) if isinstance(k, dict) else k): _decode(v, tensors) for k, v in value}
    return Unserializable(value)


_MARKS = ("__tensor__", "__tuple__", "__dict__", "__unserializable__")


def _decode(obj: Any, tensors: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if len(obj) == 1 and next(iter(obj)) in _MARKS:
            return _decode_marked(obj, tensors)
        return {k: _decode(v, tensors) for k, v in obj.items()}
    return obj


def merge_unserializable(stored: Any, current: Any) -> Any:
    """``stored`` with every :class:`Unserializable` replaced by the value at the same place in
    ``current`` (e.g. keep the live optimizer's schedule objects when loading its state)."""
    if isinstance(stored, Unserializable):
        return current
    if isinstance(stored, dict) and isinstance(current, dict):
        return {k: merge_unserializable(v, current.get(k)) for k, v in stored.items()}
    if isinstance(stored, (list, tuple)) and isinstance(current, (list, tuple)):
        merged = [merge_unserializable(v, current[i] if i < len(current) else None) for i, v in enumerate(stored)]
        return type(stored)(merged)
    return stored


def _digest(tensors: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for key in sorted(tensors):
        array = tensors[key]
        h.update(key.encode())
        h.update(str(array.dtype).encode())
        h.update(repr(array.shape).encode())
        h.update(memoryview(np.ascontiguousarray(array)).cast("B"))
    return h.hexdigest()


# --------------------------------------------------------------------------- writing

def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write ``state`` (nested dicts/lists/tuples of JSON values and ndarrays) to ``path``
    atomically (see :func:`descend.fileio.atomic_write`).

    Raises:
        descend.fileio.WriteError: the file could not be written (disk full, ...); a previous
            checkpoint at ``path`` is intact.
    """
    from safetensors.numpy import save

    from ..fileio import atomic_write

    path = Path(path)
    tensors: dict[str, np.ndarray] = {}
    document = _encode(dict(state), "", tensors)
    header = {"format": FORMAT, "version": VERSION, "tensors_sha256": _digest(tensors), "state": document}
    data = save(tensors, metadata={METADATA_KEY: json.dumps(header, allow_nan=True)})
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, data)


# --------------------------------------------------------------------------- reading

MAX_HEADER = 100_000_000  # bytes of JSON header a checkpoint may have


def _frame(where: str, data: bytes, size: int) -> tuple[dict[str, Any], int]:
    """The raw safetensors header (a JSON object) and its length ``n``."""
    if size < 8:
        raise CheckpointError(
            f"{where} is not a descend checkpoint: it has only {size} bytes (truncated, or not a "
            "safetensors file)"
        )
    (n,) = struct.unpack("<Q", data[:8])
    if n > size - 8:
        if n > MAX_HEADER or not data[8:9] == b"{":
            raise CheckpointError(f"{where} is not a descend checkpoint: it is not a safetensors file")
        raise CheckpointError(
            f"{where} is truncated: its header says {n} bytes but the file has {size}; use an "
            "earlier checkpoint or start the training again"
        )
    try:
        raw = json.loads(data[8 : 8 + n].decode("utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("header is not an object")
    except (UnicodeDecodeError, ValueError):
        raise CheckpointError(f"{where} is not a descend checkpoint: it is not a safetensors file") from None
    return raw, n


def _descend_header(where: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The descend document in the safetensors metadata, checked for format and version."""
    metadata = raw.get("__metadata__") or {}
    if not isinstance(metadata, dict) or METADATA_KEY not in metadata:
        raise CheckpointError(
            f"{where} is a safetensors file but not a descend checkpoint (it has no {METADATA_KEY!r} "
            "metadata); it was written by another program"
        )
    try:
        header = json.loads(metadata[METADATA_KEY])
    except ValueError:
        raise CheckpointError(f"{where}: the descend metadata of this checkpoint is corrupted") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{where} is not a descend checkpoint (unknown metadata format)")
    if header.get("version") != VERSION:
        raise CheckpointError(
            f"{where} is a descend checkpoint of format version {header.get('version')!r}; this version "
            f"of descend reads version {VERSION}"
        )
    return header


def _data_end(where: str, raw: dict[str, Any]) -> int:
    """The end of the last tensor's bytes, relative to the end of the header."""
    end = 0
    for key, info in raw.items():
        if key == "__metadata__":
            continue
        try:
            end = max(end, int(info["data_offsets"][1]))
        except (KeyError, TypeError, ValueError, IndexError):
            raise CheckpointError(f"{where}: corrupted safetensors header (tensor {key!r})") from None
    return end


def _read_header(path: Path, data: bytes, size: int | None = None) -> tuple[dict[str, Any], dict[str, Any], int]:
    """Validate the safetensors framing; return (raw header, descend metadata, header end).

    ``data`` holds at least the file's first 8 + header bytes; ``size`` is the file's size
    (default ``len(data)``).
    """
    where = f"{path}"
    size = len(data) if size is None else size
    raw, n = _frame(where, data, size)
    header = _descend_header(where, raw)
    end = _data_end(where, raw)
    if 8 + n + end > size:
        raise CheckpointError(
            f"{where} is truncated: it should have {8 + n + end} bytes but has {size}; use an earlier "
            "checkpoint or start the training again"
        )
    return raw, header, 8 + n


def _read_bytes(path: str | os.PathLike[str]) -> tuple[Path, bytes]:
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a directory, not a checkpoint file")
    try:
        return path, path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} does not exist") from None
    except OSError as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {error.strerror or error}") from None


def _read_head(path: str | os.PathLike[str]) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """(path, raw safetensors header, descend header), reading only the header's bytes."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a directory, not a checkpoint file")
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(8)
            if len(head) == 8:
                (n,) = struct.unpack("<Q", head)
                if n <= min(MAX_HEADER, size - 8):
                    head += f.read(n)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} does not exist") from None
    except OSError as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {error.strerror or error}") from None
    raw, header, _ = _read_header(path, head, size)
    return path, raw, header


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The checkpoint's JSON state with tensor references left as ``{"__tensor__": name}``
    (cheap: reads only the header, for inspecting epoch, config, ... without decoding arrays)."""
    return _read_head(path)[2]["state"]


def tensor_shapes(path: str | os.PathLike[str]) -> dict[str, tuple[str, tuple[int, ...]]]:
    """``{tensor name: (safetensors dtype, shape)}`` of a checkpoint, from its header alone
    (e.g. ``"model/1.weight": ("F32", (784, 128))``): what a model description in the metadata
    can be checked against before anything is built."""
    path, raw, _ = _read_head(path)
    shapes = {}
    for key, info in raw.items():
        if key == "__metadata__":
            continue
        try:
            shapes[key] = (str(info["dtype"]), tuple(int(n) for n in info["shape"]))
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"{path}: corrupted safetensors header (tensor {key!r})") from None
    return shapes


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The state saved by :func:`save_checkpoint`, arrays and all.

    Raises:
        CheckpointError: the file is missing, truncated, corrupted, not a safetensors file, or a
            safetensors file written by another program.
    """
    from safetensors.numpy import load

    path, data = _read_bytes(path)
    _, header, _ = _read_header(path, data)
    try:
        tensors = load(data)
    except Exception as error:  # safetensors raises its own SafetensorError
        raise CheckpointError(f"{path} is corrupted: {error}") from None
    if _digest(tensors) != header.get("tensors_sha256"):
        raise CheckpointError(
            f"{path} is corrupted: its tensors do not match the checksum recorded when it was written"
        )
    return _decode(header["state"], tensors)


def is_checkpoint(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a readable descend checkpoint (reads only the header)."""
    try:
        _read_head(path)
    except CheckpointError:
        return False
    return True
