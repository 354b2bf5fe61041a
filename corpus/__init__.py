"""The articles the bot answers from, as human-editable files, and the reader for them.

Each article is one UTF-8 file in `articles/`: a `---` header of `field: value`
lines (title, publisher, author, published, url, note; an empty value means
unknown) and then the article text, paragraphs separated by blank lines.
"""

from pathlib import Path

from corpus.article import Article
from corpus.fileformat import CorpusFileError, parse_article, render_article
from corpus.loader import (
    Corpus,
    CorpusError,
    CorpusFiles,
    FolderLook,
    ParsedFiles,
    broken_file_lines,
    fingerprint_files,
    folder_look,
    fingerprint_of,
    load_corpus,
    parse_each,
    parse_files,
    read_corpus_files,
    stat_signature,
)

BUNDLED_DIR = Path(__file__).resolve().parent / "articles"

__all__ = [
    "Article",
    "BUNDLED_DIR",
    "Corpus",
    "CorpusError",
    "CorpusFileError",
    "CorpusFiles",
    "FolderLook",
    "ParsedFiles",
    "broken_file_lines",
    "folder_look",
    "fingerprint_files",
    "fingerprint_of",
    "parse_each",
    "parse_files",
    "read_corpus_files",
    "load_corpus",
    "parse_article",
    "render_article",
    "stat_signature",
]
