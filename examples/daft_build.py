"""Build a vdx dataset as N shards with Daft, then tie them with a manifest.

    python examples/daft_build.py INPUTS... --out DIR/NAME --shards N [--ray]
                                  [--option frames=16 ...]

A `@daft.cls` UDF builds one shard per row (`vdx.build(..., shard=(k, N))`); Daft runs it on
its native runner here, or on a Ray cluster with `--ray` (`daft.set_runner_ray()`). A shard
already built with the same inputs and options is a no-op, so a re-run only builds what is
missing. The driver ends with `vdx.write_manifest`.
"""
import argparse
import os

import daft


@daft.cls
class ShardBuilder:
    def __init__(self, inputs: list, out: str, count: int, options: dict):
        import vdx  # once per worker
        self.vdx = vdx
        self.inputs, self.out, self.count, self.options = inputs, out, count, options

    def __call__(self, shard: int) -> str:
        r = self.vdx.build(self.inputs, self.out, shard=(shard, self.count), **self.options)
        return ("skipped " if r["already_built"] else "built ") + r["output"]


def run(inputs, out, shards, options=None, use_ray=False):
    import vdx
    if use_ray:
        daft.set_runner_ray()
    builder = ShardBuilder([os.fspath(i) for i in inputs], os.fspath(out), shards, options or {})
    df = daft.from_pydict({"shard": list(range(shards))})
    df = df.with_column("result", builder(df["shard"]))
    results = df.sort("shard").to_pydict()
    manifest, _ = vdx.write_manifest(os.path.dirname(os.fspath(out)) or ".",
                                     os.path.basename(os.fspath(out)))
    return manifest, results["result"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--out", required=True, help="DIR/NAME")
    ap.add_argument("--shards", type=int, required=True)
    ap.add_argument("--ray", action="store_true", help="run on Ray (daft.set_runner_ray)")
    ap.add_argument("--option", action="append", default=[],
                    help="a vdx build option, e.g. frames=16 or keep_going")
    a = ap.parse_args()
    opts = {}
    for p in a.option:
        k, _, v = p.partition("=")
        opts[k] = True if v == "" else v
    manifest, results = run(a.inputs, a.out, a.shards, opts, a.ray)
    for r in results:
        print(r)
    print(f"manifest {manifest}")


if __name__ == "__main__":
    main()
