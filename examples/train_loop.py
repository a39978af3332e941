"""A PyTorch-style training loop over a vdx dataset, with a recipe saved from the explorer.

    python examples/train_loop.py DATASET.vdx [RECIPE.json] [--epochs 2] [--batch-size 8]

vdx decodes and augments each batch on its own threads (the GIL released) and hands numpy
arrays over without a copy; `torch.from_numpy` wraps them, again without a copy. Where torch
is not installed, numpy stands in for it (a linear classifier trained with plain SGD), so the
loop runs anywhere; the tests run it that way.
"""
import argparse
import time

import numpy as np

import vdx

try:
    import torch
except ImportError:  # numpy stands in for torch
    torch = None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset")
    ap.add_argument("recipe", nargs="?", default=None,
                    help="an augmentation recipe saved from the explorer (JSON)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)

    ds = vdx.Dataset(a.dataset)
    recipe = vdx.Recipe.load(a.recipe) if a.recipe else None
    loader = vdx.Loader(ds, batch_size=a.batch_size, recipe=recipe, shuffle=True, seed=a.seed,
                        drop_last=False, prefetch=2)
    num_classes = max(len(ds.classes), 1)
    rng = np.random.default_rng(a.seed)
    model = None
    losses = []
    for epoch in range(a.epochs):
        loader.set_epoch(epoch)  # the epoch's order and augmentation draws: (seed, epoch)
        t0 = time.perf_counter()
        seen = 0
        for clips, labels, indices in loader:
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
