"""Regenerate ``src/induction_widgets/data/corpus/austen.txt.gz`` from Debian's ``r-cran-janeaustenr``.

The package (MIT; the novels are public domain, Project Gutenberg texts with Gutenberg's header and
licence already removed by janeaustenr) stores each novel as an R character vector of lines in a
lazy-load database (``data/Rdata.rdx`` index, gzip; ``data/Rdata.rdb``, one zlib block per object
after a 4-byte length). Both are R serialisations, read here with the ``rdata`` package — R itself
is not needed::

    apt-get download r-cran-janeaustenr && dpkg -x r-cran-janeaustenr_*_all.deb /tmp/jar
    pip install rdata                     # or: pip install 'induction-widgets[corpus]'
    python scripts/make_austen_corpus.py /tmp/jar/usr/lib/R/site-library/janeaustenr

Cleaning (the same for each novel): drop the front matter before the first chapter heading (title,
author, date, Northanger Abbey's advertisement); drop chapter and volume headings (``CHAPTER I``,
``Chapter 1``, ``VOLUME II``, …); remove the underscores that mark italics (``_very_`` → ``very``);
re-join each paragraph's hard-wrapped lines with single spaces (runs of spaces collapsed); one blank
line between paragraphs, a line ``* * *`` between chapters; a line ``THE END``, ``Finis`` or ``A NOTE ON THE TEXT``
(Northanger Abbey's editorial note) and what follows are dropped.
Novels are joined in the order of ``NOVELS`` with two blank lines between them.
"""

from __future__ import annotations

import gzip
import re
import sys
import zlib
from pathlib import Path

NOVELS = ("prideprejudice", "persuasion", "northangerabbey")
"""Which novels are shipped (all six would be ≈ 4 MB of text; three keep the package small)."""

OUT = Path(__file__).resolve().parents[1] / "src/induction_widgets/data/corpus/austen.txt.gz"
ENDS = ("THE END", "FINIS", "A NOTE ON THE TEXT")
"""A line that is exactly one of these (any case) ends the novel's text."""
HEADING = re.compile(r"^\s*(chapter|volume)\s+([0-9]+|[ivxlc]+)\.?\s*$", re.IGNORECASE)


def read_novels(package_dir: Path) -> dict[str, list[str]]:
    """``{novel: [line, ...]}`` from janeaustenr's ``data/Rdata.rdx`` + ``Rdata.rdb``."""
    import rdata  # only this script needs it

    data = package_dir / "data"
    index = rdata.conversion.convert(
        rdata.parser.parse_data(gzip.decompress((data / "Rdata.rdx").read_bytes()))
    )
    blob = (data / "Rdata.rdb").read_bytes()
    out = {}
    for name, (offset, length) in index["variables"].items():
        raw = zlib.decompress(blob[int(offset) + 4 : int(offset) + int(length)])
        out[str(name)] = [str(x) for x in rdata.conversion.convert(rdata.parser.parse_data(raw))]
    return out


def clean(lines: list[str]) -> str:
    """One novel's lines → paragraphs (see the module docstring)."""
    start = next(i for i, line in enumerate(lines) if HEADING.match(line))
    chapters: list[list[str]] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            text = re.sub(r"\s+", " ", " ".join(para)).strip()
            if text:
                chapters[-1].append(text)
            para.clear()

    chapters.append([])
    for line in lines[start:]:
        if line.strip().upper() in ENDS:
            break
        if HEADING.match(line):
            flush()
            if chapters[-1]:
                chapters.append([])
            continue
        if not line.strip():
            flush()
            continue
        para.append(line.replace("_", ""))
    flush()
    return "\n\n* * *\n\n".join("\n\n".join(c) for c in chapters if c)


def main(package_dir: str) -> None:
    novels = read_novels(Path(package_dir))
    text = "\n\n\n".join(clean(novels[name]) for name in NOVELS) + "\n"
    with gzip.GzipFile(OUT, "wb", compresslevel=9, mtime=0) as f:
        f.write(text.encode("utf-8"))
    print(f"{OUT}: {len(text):,} characters, {OUT.stat().st_size:,} bytes gzipped")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/usr/lib/R/site-library/janeaustenr")
