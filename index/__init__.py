"""Sentence-level search over articles: chunking, analysis, BM25 scoring, selection, caching."""
