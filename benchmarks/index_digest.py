"""Print a digest of every part of the index built from a corpus folder: one line per array
or table, `name sha256`. Building the same corpus with two versions of the code and comparing
their digests shows whether a change left the index identical (same sentences, terms, flags,
postings, scores), without keeping either index around.

    python -m benchmarks.index_digest corpus/articles > before.txt
    python -m benchmarks.index_digest --streaming corpus/articles > after.txt   # the on-disk build

Run with an older checkout on PYTHONPATH for "before".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from corpus.loader import load_corpus
from index.analysis import Analyzer
from index.sentence_index import SentenceIndex


def digests(index: SentenceIndex) -> dict[str, str]:
    bm25 = index.bm25
    arrays = {
        "text_blob": index.texts.blob, "text_offsets": index.texts.offsets, "article": index.article,
        "paragraph": index.paragraph, "position": index.position, "previous": index.previous,
        "following": index.following, "around": index.around, "flags": index.flags,
        "terms_start": index.terms_start, "terms": index.terms, "postings_start": bm25.postings_start,
        "postings_chunk": bm25.postings_chunk, "postings_tf": bm25.postings_tf, "chunk_length": bm25.chunk_length,
        "idf": bm25.idf, "postings_gain": bm25.all_gains(),
    }
    out = {}
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        out[name] = f"{array.dtype}{array.shape} " + hashlib.sha256(array.tobytes()).hexdigest()[:16]
    tables = {
        "vocabulary": list(bm25.vocabulary.items()),
        "impact": {int(t): np.asarray(bm25.impact[t]).tolist() for t in sorted(bm25.impact)},
        "surface": list(index.surface.items()),
        "surface_counts": sorted((index.surface_counts or {}).items()),
        "acronyms": sorted((a, list(t)) for a, t in index.acronyms.items()),
        "article_acronyms": [sorted((a, list(t)) for a, t in own.items()) for own in index.article_acronyms or ()],
    }
    for name, table in tables.items():
        out[name] = hashlib.sha256(json.dumps(table, ensure_ascii=False).encode()).hexdigest()[:16]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--limit", type=int, default=0, help="only the first N articles")
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()
    articles = load_corpus(args.folder).articles
    if args.limit:
        articles = articles[: args.limit]
    index = SentenceIndex.build(articles, Analyzer(), workers=args.workers or None)
    print(f"sentences {index.size}")
    for name, digest in digests(index).items():
        print(f"{name} {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
