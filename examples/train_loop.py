"""A PyTorch-style training loop over a vdx dataset, with a recipe saved from the explorer.

    python examples/train_loop.py DATASET [RECIPE.json] [--epochs 2] [--batch-size 8]
                                  [--ray [--actors 2] [--address auto]]

DATASET is a .vdx or a .vdxm manifest, a path or a URL (s3://, gs://, az://, https://): a
manifest's shards on object storage open as they are first read, and each sample's bytes come
by ranged reads.

vdx decodes and augments each batch on its own threads (the GIL released) and hands numpy
arrays over without a copy; `torch.from_numpy` wraps them, again without a copy. Where torch
is not installed, numpy stands in for it (a linear classifier trained with plain SGD), so the
loop runs anywhere; the tests run it that way.

With `--ray`, Ray Data streams the epoch instead of `vdx.Loader`: the driver takes the
epoch's sample order (vdx's, from the seed and the epoch), Ray Data cuts it into blocks, and
actors that each open the dataset once decode and augment the blocks with the same engine
(`RayDecoder`). A sample's pixels depend only on the dataset, the recipe, the sample and the
epoch, so each sample is bit for bit what `vdx.Loader` gives it; the batches follow the
order in which blocks come back.
"""
import argparse
import time

import numpy as np

import vdx

try:
    import torch
except ImportError:  # numpy stands in for torch
    torch = None


class RayDecoder:
    """A Ray Data actor: opens the dataset once, then decodes and augments each block of
    sample indices (column ``index``, with the ``epoch``) as `vdx.Loader` would, into the
    numpy columns ``clip``, ``label`` and ``index``."""

    def __init__(self, dataset, recipe_json=None):
        self.ds = vdx.Dataset(dataset)
        self.recipe = vdx.Recipe.from_json(recipe_json) if recipe_json else None

    def __call__(self, block):
        ids = np.asarray(block["index"], dtype=np.int64)
        loader = vdx.Loader(self.ds, batch_size=len(ids), indices=ids, shuffle=False,
                            recipe=self.recipe, prefetch=0)
        loader.set_epoch(int(block["epoch"][0]))
        clips, labels, indices = next(iter(loader))
        return {"clip": clips, "label": labels, "index": indices}


def ray_epoch(dataset, epoch, seed=0, recipe=None, actors=2, block=32):
    """One epoch of `dataset` as a Ray Data dataset of decoded samples (columns ``clip``,
    ``label``, ``index``); iterate it with ``iter_batches(batch_size=...)``."""
    import ray
    order = vdx.Loader(dataset, batch_size=1, shuffle=True, seed=seed)
    order.set_epoch(epoch)
    ids = order.order()
    items = ray.data.from_items([{"index": int(i), "epoch": epoch} for i in ids])
    return items.map_batches(
        RayDecoder,
        fn_constructor_kwargs={"dataset": str(dataset),
                               "recipe_json": recipe.to_json() if recipe else None},
        batch_size=block, batch_format="numpy", concurrency=actors, num_cpus=1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset")
    ap.add_argument("recipe", nargs="?", default=None,
                    help="an augmentation recipe saved from the explorer (JSON)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ray", action="store_true",
                    help="stream the epochs through Ray Data actors instead of vdx.Loader")
    ap.add_argument("--actors", type=int, default=2, help="Ray Data actors decoding (--ray)")
    ap.add_argument("--address", default=None, help="a Ray cluster (--ray; default: start one)")
    a = ap.parse_args(argv)

    ds = vdx.Dataset(a.dataset)
    recipe = vdx.Recipe.load(a.recipe) if a.recipe else None
    loader = vdx.Loader(ds, batch_size=a.batch_size, recipe=recipe, shuffle=True, seed=a.seed,
                        drop_last=False, prefetch=2)
    if a.ray:
        import ray
        if not ray.is_initialized():
            ray.init(address=a.address)

    def batches(epoch):
        if not a.ray:
            loader.set_epoch(epoch)  # the epoch's order and augmentation draws: (seed, epoch)
            yield from loader
            return
        rows = ray_epoch(a.dataset, epoch, a.seed, recipe, a.actors)
        for b in rows.iter_batches(batch_size=a.batch_size, batch_format="numpy"):
            # Ray hands out read-only views of its blocks; torch wants arrays it may write.
            yield tuple(np.require(b[k], requirements="W") for k in ("clip", "label", "index"))

    num_classes = max(len(ds.classes), 1)
    rng = np.random.default_rng(a.seed)
    model = None
    losses = []
    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        seen = 0
        for clips, labels, indices in batches(epoch):
            # clips: float32 (B, T, H, W, 3) through a recipe (its to_float step), else
            # uint8; labels int64 (B,); indices: the dataset samples of the batch. The arrays
            # view a recycled buffer: keep one past this step with .copy().
            x = clips.reshape(len(clips), -1)
            if x.dtype == np.uint8:
                x = x.astype(np.float32) / 255.0
            y = np.maximum(labels, 0)
            if torch is not None:
                xt, yt = torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y)
                if model is None:
                    torch.manual_seed(a.seed)
                    model = torch.nn.Linear(xt.shape[1], num_classes)
                    opt = torch.optim.SGD(model.parameters(), lr=0.01)
                loss = torch.nn.functional.cross_entropy(model(xt), yt)
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
            else:
                if model is None:
                    model = rng.normal(0, 0.01, (x.shape[1], num_classes)).astype(np.float32)
                logits = x @ model
                p = np.exp(logits - logits.max(1, keepdims=True))
                p /= p.sum(1, keepdims=True)
                losses.append(float(-np.log(p[np.arange(len(y)), y] + 1e-9).mean()))
                p[np.arange(len(y)), y] -= 1.0
                model -= 0.01 * (x.T @ p) / len(y)
            seen += len(indices)
        dt = time.perf_counter() - t0
        print(f"epoch {epoch}: {seen} clips in {dt:.2f} s, last loss {losses[-1]:.4f}")
    return losses


if __name__ == "__main__":
    main()
