"""FFCV reads vdx datasets: field classes for type ids 10 (frames), 11 (segments) and 12
(flow), decoders that call vdx's own decoder from FFCV's jitted pipeline, and a recipe step.

    import vdx.ffcv
    from ffcv.loader import Loader, OrderOption
    from ffcv.fields.decoders import IntDecoder
    from ffcv.transforms import ToTensor

    vdx.ffcv.register()                      # once, before FFCV opens a vdx file
    loader = Loader("train.vdx", batch_size=32, num_workers=2, order=OrderOption.RANDOM,
                    pipelines={"frames": [vdx.ffcv.FramesDecoder(), ToTensor()],
                               "label": [IntDecoder(), ToTensor()]})

How it fits FFCV: FFCV's reader looks every type id up in `ffcv.types.TYPE_ID_HANDLER`
before anything else, and knows 0-6 and 255 only; `register()` adds 10, 11 and 12 there.
Each field's `metadata_type` is FORMAT.md's record, so FFCV computes the same row layout as
vdx. The decoders are FFCV Operations: they declare a `(T, H, W, 3)` uint8 output (flow:
keyframes, or int8 flow), and their jitted code calls C functions exported by vdx's
extension (`vdx_ffcv_decode_*`, through ctypes, as FFCV calls its own `libffcv`) that decode
straight into FFCV's batch memory with no Python object touched: the frames decoder gives
the whole batch to one call (decoded on vdx's pool with work stealing), the others decode
sample by sample in `prange`.
A sample that fails to decode raises `VdxDatasetError` naming the file, the sample and the
cause in the loop that iterates the Loader (FFCV 1.0.2 itself would lose an exception raised
in its pipeline thread and wait forever; `register()` makes its epoch iterator hand it over).

Writing through FFCV's `DatasetWriter` is not supported: a vdx sample's checksum covers the
whole row and all of its data, and FFCV's writer encodes one field at a time without seeing
the others, so it cannot produce a file that `vdx verify` accepts. Build with `vdx build`
(or `vdx.build`) and read with FFCV.
"""
from __future__ import annotations

import ctypes
import json
from ctypes import c_float, c_int32, c_uint32, c_uint64, c_void_p
from dataclasses import replace
from typing import Any, Callable, Dict, Optional, Tuple, Type

import numpy as np

from ffcv.fields.base import ARG_TYPE, Field
from ffcv.pipeline.allocation_query import AllocationQuery
from ffcv.pipeline.compiler import Compiler
from ffcv.pipeline.operation import Operation
from ffcv.pipeline.state import State

from . import Recipe, _vdx
from .errors import VdxDatasetError

__all__ = ["register", "FramesField", "SegmentsField", "FlowField", "FramesDecoder",
           "SegmentsDecoder", "FlowKeyframesDecoder", "FlowDecoder", "RecipeAugment",
           "MultiHotLabels", "split_indices", "local_file", "RECORDS"]

# FORMAT.md's records (type id -> numpy dtype; packed structs).
RECORDS = {
    10: np.dtype([("ptr", "<u8"), ("size", "<u8"), ("num_frames", "<u4"),
                  ("height", "<u4"), ("width", "<u4")]),
    11: np.dtype([("ptr", "<u8"), ("size", "<u8"), ("num_frames", "<u4"),
                  ("num_packets", "<u4"), ("height", "<u4"), ("width", "<u4"),
                  ("extradata_size", "<u4"), ("time_base_num", "<u4"),
                  ("time_base_den", "<u4")]),
    12: np.dtype([("ptr", "<u8"), ("size", "<u8"), ("num_frames", "<u4"),
                  ("num_keyframes", "<u4"), ("height", "<u4"), ("width", "<u4"),
                  ("scale", "<f4")]),
}
CODECS = {"h264": 0, "hevc": 1, "h265": 1, "vp9": 2, "av1": 3}

_lib = ctypes.CDLL(_vdx.__file__)
_c_frames = _lib.vdx_ffcv_decode_frames
_c_frames.argtypes = [c_void_p, c_uint64, c_uint32, c_uint32, c_uint32, c_void_p, c_uint64,
                      c_uint64]
_c_frames.restype = c_int32
_c_frames_batch = _lib.vdx_ffcv_decode_frames_batch
_c_frames_batch.argtypes = [c_void_p, c_void_p, c_void_p, c_uint64, c_uint32, c_uint32, c_uint32,
                            c_void_p, c_uint64, c_void_p, c_uint32]
_c_frames_batch.restype = c_int32
_c_segments = _lib.vdx_ffcv_decode_segments
_c_segments.argtypes = [c_void_p, c_uint64] + [c_uint32] * 8 + [c_void_p, c_uint64, c_uint64]
_c_segments.restype = c_int32
_c_flow = _lib.vdx_ffcv_decode_flow
_c_flow.argtypes = [c_void_p, c_uint64, c_uint32, c_uint32, c_uint32, c_uint32, c_float,
                    c_void_p, c_uint64, c_void_p, c_uint64, c_uint64]
_c_flow.restype = c_int32
_c_last_error = _lib.vdx_ffcv_last_error
_c_last_error.argtypes = [c_void_p, c_uint64]
_c_last_error.restype = c_uint64

_FAILED = "vdx: a sample failed to decode"


def local_file(path: str) -> str:
    """A local file FFCV's ``Loader`` can open for the vdx dataset file at ``path``: the path
    itself, or for a URL (``s3://``, ``gs://``, ``az://``, ``http(s)://``) the object's entry
    in the cache folder ``VDX_CACHE_DIR``, fetched whole first (FFCV's reader maps a local
    file). Raises ``VdxDatasetError`` where no cache folder is set, naming the variable."""
    return _vdx.local_copy(path)


def last_error() -> str:
    """The message of the last sample that failed to decode in this process."""
    n = _c_last_error(None, 0)
    buf = ctypes.create_string_buffer(int(n) + 1)
    _c_last_error(buf, n)
    return buf.raw[:n].decode("utf-8", "replace")


# The functions numba compiles: plain calls of ctypes functions on array addresses.
def _decode_frames(data, dst, t, h, w, sample):
    return _c_frames(data.ctypes.data, data.size, t, h, w, dst.ctypes.data, dst.size, sample)


def _decode_frames_batch(addrs, sizes, samples, n, t, h, w, dst, stride, status, threads):
    return _c_frames_batch(addrs.ctypes.data, sizes.ctypes.data, samples.ctypes.data, n, t, h, w,
                           dst.ctypes.data, stride, status.ctypes.data, threads)


def _decode_segments(data, dst, t, p, h, w, e, tbn, tbd, codec, sample):
    return _c_segments(data.ctypes.data, data.size, t, p, h, w, e, tbn, tbd, codec,
                       dst.ctypes.data, dst.size, sample)


def _decode_flow_keyframes(data, dst, t, k, h, w, scale, sample):
    return _c_flow(data.ctypes.data, data.size, t, k, h, w, scale, dst.ctypes.data, dst.size,
                   0, 0, sample)


def _decode_flow(data, dst, t, k, h, w, scale, sample):
    return _c_flow(data.ctypes.data, data.size, t, k, h, w, scale, 0, 0, dst.ctypes.data,
                   dst.size, sample)


# ------------------------------------------------------------------ fields


class _VdxField(Field):
    TYPE_ID = -1

    def __init__(self, arguments: Optional[Dict[str, Any]] = None) -> None:
        self.arguments = dict(arguments or {})

    @property
    def metadata_type(self) -> np.dtype:
        return RECORDS[self.TYPE_ID]

    @classmethod
    def from_binary(cls, binary) -> "_VdxField":
        raw = np.asarray(binary).tobytes().rstrip(b"\0")
        return cls(json.loads(raw.decode("utf-8")) if raw else {})

    def to_binary(self):
        out = np.zeros(1, dtype=ARG_TYPE)
        text = json.dumps(self.arguments, separators=(",", ":")).encode("utf-8")
        if len(text) > 1024:
            raise ValueError("field arguments longer than 1024 bytes")
        out.view(np.uint8)[:len(text)] = np.frombuffer(text, np.uint8)
        return out[0]

    def encode(self, destination, field, malloc):
        raise NotImplementedError(
            "vdx fields cannot be written through FFCV's DatasetWriter: a vdx sample's "
            "checksum covers its whole row and data, which FFCV writes one field at a time. "
            "Build the dataset with `vdx build` (or vdx.build) and read it with FFCV.")


class FramesField(_VdxField):
    """Type 10: T JPEG frames per sample (FORMAT.md)."""
    TYPE_ID = 10

    def get_decoder_class(self) -> Type[Operation]:
        return FramesDecoder


class SegmentsField(_VdxField):
    """Type 11: a re-encoded segment per sample (FORMAT.md)."""
    TYPE_ID = 11

    def get_decoder_class(self) -> Type[Operation]:
        return SegmentsDecoder


class FlowField(_VdxField):
    """Type 12: JPEG keyframes + int8 flow per sample (FORMAT.md)."""
    TYPE_ID = 12

    def get_decoder_class(self) -> Type[Operation]:
        return FlowKeyframesDecoder


# ------------------------------------------------------------------ decoders


def _constant(metadata, name: str, what: str) -> int:
    lo, hi = int(metadata[name].min()), int(metadata[name].max())
    if lo != hi:
        raise TypeError(f"vdx.ffcv: samples differ in {what} ({lo} to {hi}); FFCV's batch "
                        f"needs one shape")
    return hi


class _VdxDecoder(Operation):
    def _shape(self) -> Tuple[int, int, int]:
        m = self.metadata
        return (_constant(m, "num_frames", "frame count"), _constant(m, "height", "height"),
                _constant(m, "width", "width"))


class FramesDecoder(_VdxDecoder):
    """uint8 (T, H, W, 3) per sample of a frames field, exactly vdx's decode. The jitted code
    gathers the batch's data addresses and hands the whole batch to one C call, which decodes
    it on vdx's pool with work stealing (a static `prange` split idles a core at the end of
    every batch, since samples differ in cost)."""

    def declare_state_and_memory(self, previous_state: State) -> Tuple[State, AllocationQuery]:
        t, h, w = self._shape()
        shape, dtype = (t, h, w, 3), np.dtype("<u1")
        return (replace(previous_state, jit_mode=True, shape=shape, dtype=dtype),
                AllocationQuery(shape, dtype))

    def generate_code(self) -> Callable:
        mem_read = self.memory_read
        dec = Compiler.compile(_decode_frames_batch)
        t, h, w = self._shape()
        stride = t * h * w * 3
        threads = max(int(getattr(Compiler, "num_threads", 1)), 1)
        failed = _FAILED

        def decoder(batch_indices, destination, metadata, storage_state):
            n = batch_indices.shape[0]
            addrs = np.empty(n, np.uint64)
            sizes = np.empty(n, np.uint64)
            samples = np.empty(n, np.uint64)
            status = np.zeros(n, np.int32)
            for i in range(n):
                s = batch_indices[i]
                data = mem_read(metadata[s]["ptr"], storage_state)
                addrs[i] = data.ctypes.data
                sizes[i] = data.size
                samples[i] = s
            if dec(addrs, sizes, samples, n, t, h, w, destination, stride, status, threads) != 0:
                raise ValueError(failed)
            return destination[:n]

        return decoder


class SegmentsDecoder(_VdxDecoder):
    """uint8 (T, H, W, 3) per sample of a segments field (any of its codecs)."""

    def declare_state_and_memory(self, previous_state: State) -> Tuple[State, AllocationQuery]:
        t, h, w = self._shape()
        shape, dtype = (t, h, w, 3), np.dtype("<u1")
        return (replace(previous_state, jit_mode=True, shape=shape, dtype=dtype),
                AllocationQuery(shape, dtype))

    def generate_code(self) -> Callable:
        mem_read = self.memory_read
        dec = Compiler.compile(_decode_segments)
        my_range = Compiler.get_iterator()
        codec = CODECS[self.field.arguments.get("codec", "h264")]
        failed = _FAILED

        def decoder(batch_indices, destination, metadata, storage_state):
            n = batch_indices.shape[0]
            status = np.zeros(n, np.int32)
            for i in my_range(n):
                s = batch_indices[i]
                m = metadata[s]
                data = mem_read(m["ptr"], storage_state)
                status[i] = dec(data, destination[i], m["num_frames"], m["num_packets"],
                                m["height"], m["width"], m["extradata_size"],
                                m["time_base_num"], m["time_base_den"], codec, s)
            for i in range(n):
                if status[i] != 0:
                    raise ValueError(failed)
            return destination[:n]

        decoder.is_parallel = True
        return decoder


class FlowKeyframesDecoder(_VdxDecoder):
    """uint8 (K, H, W, 3): a flow sample's JPEG keyframes."""

    def declare_state_and_memory(self, previous_state: State) -> Tuple[State, AllocationQuery]:
        _, h, w = self._shape()
        k = _constant(self.metadata, "num_keyframes", "keyframe count")
        shape, dtype = (k, h, w, 3), np.dtype("<u1")
        return (replace(previous_state, jit_mode=True, shape=shape, dtype=dtype),
                AllocationQuery(shape, dtype))

    def generate_code(self) -> Callable:
        return _flow_code(self.memory_read, _decode_flow_keyframes)


class FlowDecoder(_VdxDecoder):
    """int8 (T-1, H, W, 2): a flow sample's quantized flow (pixels = value / scale). Use it
    with a second pipeline on the same field: ``{"flow_q": PipelineSpec("flow",
    decoder=FlowDecoder())}``."""

    def declare_state_and_memory(self, previous_state: State) -> Tuple[State, AllocationQuery]:
        t, h, w = self._shape()
        shape, dtype = (max(t - 1, 0), h, w, 2), np.dtype("<i1")
        return (replace(previous_state, jit_mode=True, shape=shape, dtype=dtype),
                AllocationQuery(shape, dtype))

    def generate_code(self) -> Callable:
        return _flow_code(self.memory_read, _decode_flow)


def _flow_code(mem_read, c_function) -> Callable:
    """The jitted decoder of a flow output: `c_function` writes one sample's keyframes or
    flow into its batch slot, samples side by side in `prange`."""
    dec = Compiler.compile(c_function)
    my_range = Compiler.get_iterator()
    failed = _FAILED

    def decoder(batch_indices, destination, metadata, storage_state):
        n = batch_indices.shape[0]
        status = np.zeros(n, np.int32)
        for i in my_range(n):
            s = batch_indices[i]
            m = metadata[s]
            data = mem_read(m["ptr"], storage_state)
            status[i] = dec(data, destination[i], m["num_frames"], m["num_keyframes"],
                            m["height"], m["width"], m["scale"], s)
        for i in range(n):
            if status[i] != 0:
                raise ValueError(failed)
        return destination[:n]

    decoder.is_parallel = True
    return decoder


# ------------------------------------------------------------------ recipe


class RecipeAugment(Operation):
    """A vdx recipe (tuned in the explorer) as an FFCV Operation after a clip decoder: uint8
    (T, H, W, 3) in, float32 (T', H', W', 3) out, with the draws `Recipe.apply` makes for
    (recipe seed, sample index, epoch), so FFCV's pipeline sees exactly the explorer's
    preview. Call `set_epoch(e)` at each epoch (as with vdx.Loader); without it the epoch
    follows the Loader's own count of epochs started, when `loader` is given."""

    def __init__(self, recipe: "Recipe", epoch: int = 0, loader: Any = None) -> None:
        super().__init__()
        self.recipe = recipe
        self.epoch = int(epoch)
        self.loader = loader

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _epoch(self) -> int:
        if self.loader is not None:
            return max(int(self.loader.next_epoch) - 1, 0)
        return self.epoch

    def declare_state_and_memory(self, previous_state: State) -> Tuple[State, AllocationQuery]:
        t, h, w, c = previous_state.shape
        out, _ = self.recipe.apply(np.zeros((t, h, w, c), np.uint8), sample=0, epoch=0)
        shape = tuple(out.shape[1:])
        dtype = np.dtype("<f4")
        return (replace(previous_state, jit_mode=False, shape=shape, dtype=dtype),
                AllocationQuery(shape, dtype))

    def generate_code(self) -> Callable:
        recipe = self.recipe
        op = self

        def augment(clips, dst, indices):
            epoch = op._epoch()
            n = len(indices)
            for i in range(n):
                out, _ = recipe.apply(np.asarray(clips[i]), sample=int(indices[i]), epoch=epoch)
                dst[i] = out[0]
            return dst[:n]

        augment.with_indices = True
        return augment


# ------------------------------------------------------------------ annotations


def split_indices(path: str, split: str) -> np.ndarray:
    """The sample indices of one stored split of an annotation dataset, for FFCV's
    ``Loader(path, indices=...)``: the same samples, in the same order, as
    ``vdx.Dataset(path).split(split)``."""
    from . import Dataset

    ds = Dataset(path)
    view = ds.split(split)
    return np.asarray(view.indices, dtype=np.int64)


class MultiHotLabels(Operation):
    """Every label of a sample as a uint8 multi-hot row (classes,), in the ``label`` pipeline
    after ``IntDecoder()`` (whose first label it replaces): the rows
    ``vdx.Dataset(path).multi_hot()`` gives, looked up by sample index, so FFCV yields what
    ``vdx.Loader(labels="multi_hot")`` yields."""

    def __init__(self, path: str) -> None:
        super().__init__()
        from . import Dataset

        self.table = np.ascontiguousarray(Dataset(path).multi_hot())

    def declare_state_and_memory(self, previous_state: State) -> Tuple[State, AllocationQuery]:
        shape = (self.table.shape[1],)
        dtype = np.dtype("u1")
        return (replace(previous_state, jit_mode=False, shape=shape, dtype=dtype),
                AllocationQuery(shape, dtype))

    def generate_code(self) -> Callable:
        table = self.table

        def multi_hot(labels, dst, indices):
            n = len(indices)
            dst[:n] = table[np.asarray(indices[:n], dtype=np.int64)]
            return dst[:n]

        multi_hot.with_indices = True
        return multi_hot


# ------------------------------------------------------------------ registration

_registered = False


def register() -> None:
    """Add vdx's field types to FFCV (ids 10, 11, 12) and make FFCV's epoch iterator hand a
    decoding failure to the loop that iterates the Loader. Idempotent."""
    global _registered
    if _registered:
        return
    import ffcv.types
    from ffcv.loader import epoch_iterator

    ffcv.types.TYPE_ID_HANDLER[10] = FramesField
    ffcv.types.TYPE_ID_HANDLER[11] = SegmentsField
    ffcv.types.TYPE_ID_HANDLER[12] = FlowField

    it = epoch_iterator.EpochIterator
    run = it.run

    def run_handing_over_errors(self):
        try:
            run(self)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer below
            if _FAILED in str(e):
                path = getattr(self.loader.reader, "file_name", "?")
                e = VdxDatasetError(f"{path}: not a valid dataset: {last_error()}")
            self.output_queue.put(_Failure(e))

    def next_raising(self):
        item = self.output_queue.get()
        if isinstance(item, _Failure):
            self.close()
            raise item.error
        return _finish_next(self, item)

    def _finish_next(self, result):
        if result is None:
            self.close()
            raise StopIteration()
        slot, result = result
        if epoch_iterator.IS_CUDA:
            stream = self.cuda_streams[slot]
            self.current_stream.wait_stream(stream)
        return result

    it.run = run_handing_over_errors
    it.__next__ = next_raising
    _registered = True


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error
