"""vdx from Python: the same decoder, datasets and augmentation engine as the vdx explorer and
command line, in-process (no process per call), returning numpy arrays.

    import vdx
    r = vdx.VideoReader("video.mp4", size=224)
    batch = r.get_frames_at([0, 10, 20])      # FrameBatch: data uint8 (3, 224, 224, 3)
    clips = r.clips(sampler="uniform", num_clips=4, frames=16)

PyTorch users wrap arrays with ``torch.from_numpy`` (no copy); vdx does not depend on torch.
Decoding and batch loading release the GIL and run on vdx's own threads.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _vdx
from .errors import (
    VdxDatasetError,
    VdxDecodeError,
    VdxError,
    VdxFileNotFoundError,
    VdxIndexError,
    VdxStorageError,
    VdxValueError,
)

__version__ = _vdx.__version__

__all__ = [
    "HEALTH_FLAGS",
    "probe", "index", "Index", "VideoReader", "FrameBatch", "Clips", "Dataset", "DatasetView",
    "Sample",
    "build", "write_manifest",
    "Recipe", "Loader", "VdxError", "VdxFileNotFoundError", "VdxValueError", "VdxIndexError",
    "VdxDecodeError", "VdxDatasetError", "VdxStorageError",
]

PathLike = Union[str, "os.PathLike[str]"]


def probe(path: PathLike, *, probesize: Optional[int] = None,
          analyzeduration: Optional[float] = None) -> Dict[str, Any]:
    """Container and stream facts (``vdx probe --json``; ffprobe's key names)."""
    return _vdx.probe(os.fspath(path), probesize=probesize, analyzeduration=analyzeduration)


@dataclass(frozen=True)
class Index:
    """The packet index of a video: one entry per frame, in presentation order."""

    path: str
    codec: str
    time_base: Tuple[int, int]
    pts: np.ndarray
    dts: np.ndarray
    pos: np.ndarray
    size: np.ndarray
    keyframe: np.ndarray
    decode_index: np.ndarray
    pts_seconds: np.ndarray
    picture_types: str
    decode_status: List[str]
    keyframe_indices: np.ndarray
    frame_count: int
    warnings: List[str]
    summary: Dict[str, Any]

    def __len__(self) -> int:
        return self.frame_count


def index(path: PathLike, *, check_decode: bool = False) -> Index:
    """Scan a video's packets (no decode) into an :class:`Index`; ``check_decode`` also decodes
    it once and gives each frame a decode status ('ok', 'concealed', 'undecodable')."""
    return Index(**_vdx.index(os.fspath(path), check_decode=check_decode))


@dataclass(frozen=True)
class FrameBatch:
    """Frames: ``data`` uint8 (N, H, W, 3) with their indices and times."""

    data: np.ndarray
    indices: np.ndarray
    pts_seconds: np.ndarray
    duration_seconds: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)


@dataclass(frozen=True)
class Clips:
    """Sampled clips: ``data`` uint8 (K, T, H, W, 3) or float32 (K, 1, T, H, W, 3) in [0, 1];
    ``indices`` and ``pts_seconds`` (K, T); ``padded`` (K,) frames filled by the tail policy;
    ``damaged``: per clip, the positions filled with a neighbour (``damaged="repeat"``);
    ``decode_cost`` (K,): frames decoded per clip after a seek (what ``snap`` reduces)."""

    data: np.ndarray
    indices: np.ndarray
    pts_seconds: np.ndarray
    padded: np.ndarray
    damaged: List[List[int]]
    decode_cost: np.ndarray

    def __len__(self) -> int:
        return len(self.indices)


class VideoReader:
    """Frame-exact access to one video: frame *i* is the *i*-th frame in presentation order,
    the same picture the explorer shows and FFmpeg's own sequential decode gives.

    ``size``: None (the stored size, rotated upright), N (N x N) or (width, height);
    ``resize``: "crop" (short side + centre crop), "squash" or "letterbox"; ``rotate``: apply
    the display matrix; ``threads``: decoder threads (0: one per core);
    ``accept_concealed``: hand back pictures the decoder repaired instead of raising.
    """

    def __init__(self, path: PathLike, *, size: Union[None, int, Tuple[int, int]] = None,
                 resize: str = "crop", rotate: bool = True, threads: int = 0,
                 accept_concealed: bool = False) -> None:
        self._r = _vdx.VideoReader(os.fspath(path), size=size, resize=resize, rotate=rotate,
                                   threads=threads, accept_concealed=accept_concealed)
        self._index: Optional[Index] = None

    def __len__(self) -> int:
        return len(self._r)

    def __repr__(self) -> str:
        return repr(self._r)

    @property
    def path(self) -> str:
        return self._r.path

    @property
    def index(self) -> Index:
        """The packet index (cached)."""
        if self._index is None:
            self._index = Index(**self._r.index())
        return self._index

    @property
    def keyframe_indices(self) -> np.ndarray:
        return self.index.keyframe_indices

    @property
    def metadata(self) -> Dict[str, Any]:
        """The probe of the file (``vdx.probe``)."""
        return probe(self.path)

    def get_frames_at(self, indices: Sequence[int]) -> FrameBatch:
        """Frames at ``indices`` (any order, repeats and negative indices allowed)."""
        return FrameBatch(*self._r.frames_at([int(i) for i in indices]))

    def get_frames_played_at(self, seconds: Sequence[float]) -> FrameBatch:
        """The frame shown at each time (the last frame whose pts is at or before it)."""
        return self.get_frames_at(self._r.indices_at_times([float(s) for s in seconds]))

    def __getitem__(self, key: Union[int, slice]) -> Union[np.ndarray, FrameBatch]:
        """``r[i]``: one frame uint8 (H, W, 3); ``r[a:b:c]``: a :class:`FrameBatch`."""
        if isinstance(key, slice):
            return self.get_frames_at(list(range(*key.indices(len(self)))))
        if isinstance(key, (int, np.integer)):
            return self.get_frames_at([int(key)]).data[0]
        raise VdxValueError(f"invalid parameter index: {key!r} is not an int or a slice")

    def clips(self, sampler: str = "uniform", *, num_clips: int = 1, frames: int = 16,
              stride: float = 1.0, step: float = 0.0, seed: int = 0, tail: str = "repeat_last",
              by_time: bool = False, dtype: str = "u8", damaged: str = "error",
              snap: str = "none", within: int = 0) -> Clips:
        """Sample clips as training loaders do and decode them (each GOP once). A frame that
        cannot be decoded raises (``damaged="error"``) or is replaced by the nearest good frame
        of its clip and listed in ``Clips.damaged`` (``damaged="repeat"``).

        ``sampler="keyframes"`` takes clips of keyframes only. ``snap="keyframe"`` moves each
        clip to start at the nearest keyframe; ``snap="cheapest", within=k`` moves it by at
        most k frames to the start that decodes fewest frames (``Clips.decode_cost``). Both
        bias which frames are seen: see docs/cli.md, 'Decode-cost-aware starts'."""
        return Clips(*self._r.clips(sampler=sampler, num_clips=num_clips, frames=frames,
                                    stride=stride, step=step, seed=seed, tail=tail,
                                    by_time=by_time, dtype=dtype, damaged=damaged,
                                    snap=snap, within=within))

    def audio(self, rate: int = 16000) -> np.ndarray:
        """The best audio stream as mono float32 at ``rate`` Hz."""
        return self._r.audio(rate)


@dataclass(frozen=True)
class Sample:
    """One dataset sample. Frames and segments fields: ``clip`` uint8 (T, H, W, 3). Flow:
    ``keyframes`` uint8 (K, H, W, 3), ``keyframe_positions`` (K,), ``flow`` int8
    (T-1, H, W, 2) and ``scale`` (flow in pixels = flow / scale)."""

    index: int
    label: int
    class_name: Optional[str]
    provenance: Dict[str, Any]
    shard: int = 0
    clip: Optional[np.ndarray] = None
    keyframes: Optional[np.ndarray] = None
    keyframe_positions: Optional[np.ndarray] = None
    flow: Optional[np.ndarray] = None
    scale: Optional[float] = None

    @property
    def labels(self) -> List[int]:
        """Every label of the sample, as class indices: an annotation dataset's labels (the
        first is ``label``), else ``[label]``, or ``[]`` for an unlabelled sample."""
        got = self.provenance.get("labels")
        if got is not None:
            return [int(x) for x in got]
        return [] if self.label < 0 else [int(self.label)]


def build(inputs: Union[None, PathLike, Sequence[PathLike]], out: PathLike, *,
          shard: Optional[Tuple[int, int]] = None, classes: Optional[PathLike] = None,
          force: bool = False, **options: Any) -> Dict[str, Any]:
    """``vdx build`` in-process, with the same options, checks and messages: ``options`` are
    the build options by name, as ``vdx build``'s flags without the dashes (``field="frames"``,
    ``frames=16``, ``size=224`` or ``(320, 240)``, ``num_clips=4``, ``quality=95``,
    ``codec="h264"``, ``keep_going=True``, ``threads=2``, ...); an unknown name is a
    ``VdxValueError``.
    ``shard=(k, N)`` builds shard k of N of the whole input list as
    ``DIR/NAME-kkkkk-of-NNNNN.vdx`` for ``out=DIR/NAME`` (a finished shard is not rebuilt
    unless ``force``); ``classes`` is a class-list file. Returns the build report (``output``,
    ``already_built``, ``samples``, ``videos``, ``classes``, ``skipped``, ``left_out``,
    ``notes``).
    ``inputs=None`` with ``annotations=FILE, videos=DIR`` (and ``format``,
    ``filename_pattern``, ``columns``, ``split``) builds from an annotation file."""
    paths = ([] if inputs is None else
              [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs))
    request: Dict[str, Any] = {"inputs": [os.fspath(p) for p in paths], "out": os.fspath(out),
                               "force": bool(force)}
    if shard is not None:
        k, n = shard
        request["shard"] = f"{int(k)}/{int(n)}"
    if classes is not None:
        request["classes"] = os.fspath(classes)
    for key, value in options.items():
        if value is None:
            continue
        if key == "size" and isinstance(value, (tuple, list)):
            value = "x".join(str(int(v)) for v in value)
        elif key == "size" and isinstance(value, int):
            value = str(value)
        elif key == "columns" and isinstance(value, str):
            value = dict(part.split("=", 1) for part in value.split(",") if part.strip())
        elif isinstance(value, os.PathLike):
            value = os.fspath(value)
        request[key] = value
    return _vdx.build_request(json.dumps(request))


def write_manifest(dir: PathLike, name: Optional[str] = None) -> Tuple[str, Dict[str, Any]]:
    """Tie the shards ``NAME-kkkkk-of-NNNNN.vdx`` in ``dir`` into ``dir/NAME.vdxm`` (``vdx
    manifest``); every shard must be there and agree. Returns (path, manifest)."""
    return _vdx.write_manifest(os.fspath(dir), name)


class Dataset:
    """A vdx dataset: a file (``.vdx``) or the shards of a manifest (``.vdxm``) as one
    dataset, with random access to decoded samples."""

    def __init__(self, path: PathLike) -> None:
        self._h = _vdx.DatasetHandle(os.fspath(path))

    def __len__(self) -> int:
        return len(self._h)

    def __getitem__(self, i: int) -> Sample:
        return Sample(**self._h.get(int(i)))

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]

    @property
    def path(self) -> str:
        return self._h.path

    @property
    def classes(self) -> List[str]:
        return self._h.classes

    @property
    def field(self) -> str:
        """'frames', 'segments' or 'flow'."""
        return self._h.field

    @property
    def field_arguments(self) -> Dict[str, Any]:
        return self._h.field_arguments

    @property
    def info(self) -> Dict[str, Any]:
        return self._h.info

    @property
    def shards(self) -> List[str]:
        """The dataset's files: the file itself, or every shard of a manifest (``.vdxm``) in
        order; ``Sample.shard`` is a sample's position in this list."""
        return self._h.shards

    @property
    def splits(self) -> List[str]:
        """The split names of an annotation dataset (``[]`` for others)."""
        return list(self.info.get("splits") or [])

    def _annotations(self) -> Tuple[List[List[int]], List[int]]:
        if not hasattr(self, "_ann"):
            self._ann = self._h.annotations()
        return self._ann

    @property
    def labels(self) -> np.ndarray:
        """Every sample's first label, int64 (N,) (-1: unlabelled), without decoding."""
        return np.array([ls[0] if ls else -1 for ls in self._annotations()[0]], dtype=np.int64)

    @property
    def label_lists(self) -> List[List[int]]:
        """Every sample's labels (class indices), without decoding."""
        return [list(ls) for ls in self._annotations()[0]]

    def multi_hot(self) -> np.ndarray:
        """uint8 (N, classes): 1 where the sample has that label."""
        out = np.zeros((len(self), len(self.classes)), dtype=np.uint8)
        for i, ls in enumerate(self._annotations()[0]):
            out[i, [c for c in ls if 0 <= c < out.shape[1]]] = 1
        return out

    @property
    def split_indices(self) -> np.ndarray:
        """Every sample's split as an index into ``splits``, int64 (N,) (-1: none)."""
        return np.array(self._annotations()[1], dtype=np.int64)

    def split(self, name: str) -> "DatasetView":
        """The samples of split ``name`` (a sized sequence of samples, in dataset order)."""
        if name not in self.splits:
            raise VdxValueError(f"{self.path}: no split {name!r} (splits: {self.splits})")
        k = self.splits.index(name)
        return DatasetView(self, [i for i, s in enumerate(self._annotations()[1]) if s == k])

    def verify(self, decode: bool = True) -> Dict[str, Any]:
        """Check structure, pointers and checksums (and decode every sample); returns the
        report (``problems`` empty when the file is sound)."""
        return self._h.verify(decode)

    def compare(self, i: int, sources: Optional[PathLike] = None) -> Dict[str, Any]:
        """Sample ``i`` against the source frames it was made from (its provenance's source,
        or found under ``sources`` by the tail of its recorded path), decoded again with the
        dataset's resize. Returns ``quality`` (per frame ``psnr`` in dB, None when identical,
        and ``ssim``, as FFmpeg's psnr/ssim filters compute them; clip ``psnr_mean``,
        ``ssim_mean``...; flow: ``flow_epe`` per pair and ``epe_mean``), ``stored`` and
        ``source`` uint8 (K, H, W, 3), and for flow ``flow_stored``/``flow_fresh`` float32
        (T-1, H, W, 2). The same numbers as ``vdx quality --sample i --json``."""
        return self._h.compare(int(i), None if sources is None else os.fspath(sources))

    def quality(self, sources: Optional[PathLike] = None, threads: int = 0,
                worst: int = 10) -> Dict[str, Any]:
        """Every sample against its source (``vdx quality --json``): ``samples`` (per sample
        and frame), ``unmeasured`` (with the reason), ``summary`` and the ``worst`` sample
        indices, worst first. Runs with the GIL released; Ctrl-C cancels."""
        return self._h.quality(None if sources is None else os.fspath(sources), int(threads),
                               int(worst))

    def health(self, threads: int = 0, thresholds: Optional[Dict[str, float]] = None,
               save: bool = True, cached: bool = True) -> Dict[str, Any]:
        """The dataset's health (``vdx health --json``): per sample its ``flags`` (black,
        blank, dark, overexposed, frozen, static, cut, letterbox, pillarbox, blurry,
        duplicate, duplicate_across_splits, duplicate_label_conflict) and scores, per frame
        its measurements, and the near-``duplicate_groups``. The report saved beside the
        dataset is used when it matches the dataset and ``thresholds`` (``cached``); else the
        pass runs (GIL released; Ctrl-C cancels) and is saved when ``save`` (beside a dataset
        on object storage too; a report that cannot be saved is returned with a
        ``UserWarning``). ``thresholds`` overrides defaults by name (see ``vdx health
        --help``)."""
        th = None if thresholds is None else json.dumps(dict(thresholds))
        return self._h.health(int(threads), th, bool(save), bool(cached))

    def flagged(self, flags: Sequence[str], **health_args: Any) -> List[int]:
        """Indices of the samples carrying any of ``flags`` in :meth:`health`'s report."""
        known = set(HEALTH_FLAGS)
        for f in flags:
            if f not in known:
                raise VdxValueError(
                    f"invalid parameter exclude: {f!r} is not a health flag; flags: "
                    + ", ".join(HEALTH_FLAGS))
        rep = self.health(**health_args)
        want = set(flags)
        return [s["index"] for s in rep["samples"] if want.intersection(s["flags"])]


HEALTH_FLAGS = ("black", "blank", "dark", "overexposed", "frozen", "static", "cut", "letterbox",
                "pillarbox", "blurry", "duplicate", "duplicate_across_splits",
                "duplicate_label_conflict")
"""The flags of :meth:`Dataset.health`, as ``vdx health`` names them."""


class DatasetView:
    """Some samples of a dataset (``Dataset.split``): ``indices`` into it, in order."""

    def __init__(self, dataset: Dataset, indices: List[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Sample:
        return self.dataset[self.indices[i]]

    def __iter__(self) -> Iterator[Sample]:
        for i in self.indices:
            yield self.dataset[i]


class Recipe:
    """An augmentation recipe: the explorer's preview and ``vdx augment`` use the same engine
    and the same (seed, sample, epoch) keying, so ``apply`` gives exactly what they show."""

    def __init__(self, handle: Any) -> None:
        self._h = handle

    @staticmethod
    def load(path: PathLike) -> "Recipe":
        return Recipe(_vdx.RecipeHandle.load(os.fspath(path)))

    @staticmethod
    def from_json(text: str) -> "Recipe":
        return Recipe(_vdx.RecipeHandle.from_json(text))

    def to_json(self) -> str:
        return self._h.to_json()

    @property
    def seed(self) -> int:
        return self._h.seed

    def apply(self, clip: np.ndarray, *, sample: int, epoch: int = 0
              ) -> Tuple[np.ndarray, List[Dict[str, Any]]]:
        """Augment a uint8 (T, H, W, 3) clip: float32 (1, T', H', W', 3) and the draws."""
        return self._h.apply(np.ascontiguousarray(clip, dtype=np.uint8), sample=sample,
                             epoch=epoch)


class Loader:
    """Batches of a dataset for training: iterating yields ``(clips, labels, indices)``, clips
    uint8 (B, T, H, W, 3), or float32 (B, T, H, W, 3) through ``recipe``. The order of an
    epoch is a function of (seed, epoch) alone; call :meth:`set_epoch` each epoch. Decoding
    and augmentation run on vdx's threads with the GIL released, ``prefetch`` batches ahead.
    With ``rank``/``world_size`` each training process reads its own equal share.
    ``split`` reads only that split's samples (an annotation dataset's ``splits``);
    ``labels="multi_hot"`` yields uint8 (B, classes) label rows instead of each sample's
    first label (``"index"``, int64 (B,)). ``exclude`` leaves out the samples carrying any of
    those health flags (``Dataset.health``; the saved report, or a new pass); the indices
    left out are in ``excluded``."""

    def __init__(self, dataset: Union[Dataset, PathLike], *, batch_size: int,
                 recipe: Optional[Recipe] = None, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False, indices: Optional[Sequence[int]] = None,
                 num_threads: int = 0, prefetch: int = 2, rank: int = 0,
                 world_size: int = 1, pad: bool = True, split: Optional[str] = None,
                 labels: str = "index", exclude: Sequence[str] = ()) -> None:
        if batch_size < 1:
            raise VdxValueError(f"invalid parameter batch_size: {batch_size} is not >= 1")
        if prefetch < 0:
            raise VdxValueError(f"invalid parameter prefetch: {prefetch} is not >= 0")
        if world_size < 1 or not 0 <= rank < world_size:
            raise VdxValueError(
                f"invalid parameter rank: {rank} is not in 0..{world_size} (world_size)")
        self.dataset = dataset if isinstance(dataset, Dataset) else Dataset(dataset)
        self.batch_size = batch_size
        self.recipe = recipe
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        n = len(self.dataset)
        self.indices = np.arange(n, dtype=np.int64) if indices is None else np.asarray(
            indices, dtype=np.int64)
        if len(self.indices) and (self.indices.min() < 0 or self.indices.max() >= n):
            raise VdxIndexError(f"indices must be in 0..{n}")
        if split is not None:
            # Only the samples of that split (of `indices`, where given), in their order.
            keep = set(self.dataset.split(split).indices)
            self.indices = np.array([i for i in self.indices if int(i) in keep], dtype=np.int64)
        self.excluded: List[int] = []
        if exclude:
            drop = set(self.dataset.flagged(list(exclude)))
            self.excluded = sorted(int(i) for i in self.indices if int(i) in drop)
            self.indices = np.array([i for i in self.indices if int(i) not in drop],
                                    dtype=np.int64)
        if labels not in ("index", "multi_hot"):
            raise VdxValueError(
                f"invalid parameter labels: {labels!r} is not 'index' or 'multi_hot'")
        self.labels = labels
        # uint8 (N, classes) rows, gathered per batch, for labels="multi_hot".
        self._multi_hot = self.dataset.multi_hot() if labels == "multi_hot" else None
        self.num_threads = num_threads
        self.prefetch = prefetch
        self.rank = rank
        self.world_size = world_size
        self.pad = pad
        self.epoch = 0
        # Batch buffers numpy has let go of come back here and hold later batches.
        self._pool = _vdx.BatchPool()

    def buffer_stats(self) -> Dict[str, int]:
        """Batch buffers ``allocated`` so far, batches served from a ``reused`` buffer, and
        buffers ``free`` now. A batch's buffer returns when its arrays (and every view of
        them) are gone; keep a batch by holding it, or ``copy()`` it."""
        return self._pool.stats()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def global_order(self) -> np.ndarray:
        """This epoch's order of all samples, before the split between ranks."""
        if not self.shuffle:
            return self.indices.copy()
        return self.indices[_vdx.epoch_order(len(self.indices), self.seed, self.epoch)]

    def order(self) -> np.ndarray:
        """This rank's share of the epoch's order, split as PyTorch's DistributedSampler does:
        the global order padded by repeating its start (``pad=True``) or cut (``pad=False``) to
        a multiple of ``world_size``, then every ``world_size``-th sample from ``rank``. Every
        rank gets the same number of samples; without padding the shares are disjoint."""
        order = self.global_order()
        if self.world_size == 1:
            return order
        n = len(order)
        if self.pad:
            total = -(-n // self.world_size) * self.world_size
            if total > n and n > 0:
                reps = -(-(total - n) // n)
                order = np.concatenate([order] + [order] * reps)[:total]
        else:
            total = n // self.world_size * self.world_size
            order = order[:total]
        return order[self.rank:total:self.world_size]

    def __len__(self) -> int:
        n = len(self.order())
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _load(self, ids: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        clips, labels = _vdx.load_batch(
            self.dataset._h, [int(i) for i in ids],
            recipe=self.recipe._h if self.recipe is not None else None,
            epoch=self.epoch, num_threads=self.num_threads, pool=self._pool)
        if self._multi_hot is not None:
            labels = self._multi_hot[np.asarray(ids, dtype=np.int64)]
        return clips, labels, ids

    def __iter__(self) -> Iterator[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
        order = self.order()
        batches = [order[b * self.batch_size:(b + 1) * self.batch_size]
                   for b in range(len(self))]
        # The epoch's samples, said up front: on object storage a small dataset's (or
        # shard's) samples then come in a few large requests, not one per sample.
        self.dataset._h.will_read(order[:sum(len(ids) for ids in batches)].tolist())
        if self.prefetch == 0:
            for ids in batches:
                yield self._load(ids)
            return
        # The next `prefetch` batches decode in the background while the caller works on this
        # one: load_batch releases the GIL, so they overlap for real. Two batches in flight
        # share vdx's pool, so one batch's tail (its last samples, and the first sample that
        # fixes the batch's shape) is filled with the next batch's work instead of idle cores.
        from concurrent.futures import ThreadPoolExecutor
        workers = 2 if self.prefetch >= 2 and self.num_threads != 1 else 1
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vdx-prefetch") as ex:
            pending = [ex.submit(self._load, ids) for ids in batches[:self.prefetch]]
            nxt = len(pending)
            while pending:
                batch = pending.pop(0).result()
                if nxt < len(batches):
                    pending.append(ex.submit(self._load, batches[nxt]))
                    nxt += 1
                yield batch
