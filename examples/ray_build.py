"""Build a vdx dataset as N shards on a Ray cluster (Ray Data), then tie them with a manifest.

    python examples/ray_build.py INPUTS... --out DIR/NAME --shards N [--actors 2]
                                 [--address auto] [-- BUILD OPTIONS as key=value ...]

Every actor imports vdx once and builds the shards it is handed (`vdx.build(...,
shard=(k, N))`); every worker sees the same input list, so the shards are disjoint and cover
it. A shard already built with the same inputs and options is a no-op, so Ray's task retries
and a re-run after a failure only build what is missing. The driver ends with
`vdx.write_manifest`, and `DIR/NAME.vdxm` opens as one dataset everywhere vdx reads one.
"""
import argparse
import os

import ray


class ShardBuilder:
    """One per actor: vdx is imported and its thread pool made once, then reused."""

    def __init__(self, inputs, out, count, options):
        import vdx
        self.vdx = vdx
        self.inputs, self.out, self.count, self.options = inputs, out, count, options

    def __call__(self, batch):
        outputs, built = [], []
        for k in batch["shard"]:
            r = self.vdx.build(self.inputs, self.out, shard=(int(k), self.count), **self.options)
            outputs.append(r["output"])
            built.append(not r["already_built"])
        return {"shard": batch["shard"], "output": outputs, "built": built}


def parse_options(pairs):
    out = {}
    for p in pairs:
        k, _, v = p.partition("=")
        out[k] = True if v == "" else v
    return out


def run(inputs, out, shards, actors=2, options=None, address=None, init_kwargs=None):
    """Build `shards` shards of `inputs` at `out` (DIR/NAME) with Ray Data; returns the
    manifest path and the per-shard results."""
    import vdx
    if not ray.is_initialized():
        ray.init(address=address, **(init_kwargs or {}))
    items = ray.data.from_items([{"shard": k} for k in range(shards)])
    results = items.map_batches(
        ShardBuilder,
        fn_constructor_kwargs={"inputs": [os.fspath(i) for i in inputs], "out": os.fspath(out),
                               "count": shards, "options": options or {}},
        batch_size=1, concurrency=actors, num_cpus=1,
    ).take_all()
    manifest, _ = vdx.write_manifest(os.path.dirname(os.fspath(out)) or ".",
                                     os.path.basename(os.fspath(out)))
    return manifest, sorted(results, key=lambda r: r["shard"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--out", required=True, help="DIR/NAME")
    ap.add_argument("--shards", type=int, required=True)
    ap.add_argument("--actors", type=int, default=2)
    ap.add_argument("--address", default=None, help="a Ray cluster (default: start one here)")
    ap.add_argument("--option", action="append", default=[],
                    help="a vdx build option, e.g. frames=16 or keep_going")
    a = ap.parse_args()
    manifest, results = run(a.inputs, a.out, a.shards, a.actors, parse_options(a.option),
                            a.address)
    print(f"{sum(r['built'] for r in results)} shards built, manifest {manifest}")


if __name__ == "__main__":
    main()
