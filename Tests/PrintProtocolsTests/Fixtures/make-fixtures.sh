#!/usr/bin/env bash
# Regenerates the page-counting fixtures with real tools nobody here wrote.
# Needs: ghostscript (gs), groff, poppler-utils (pdftops), qpdf, and pypdf in a
# Python environment (python3 -m venv /tmp/pyenv && /tmp/pyenv/bin/pip install pypdf).
# The outputs are committed; tests never run this script.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-/tmp/pyenv/bin/python}
gsx() { gs -q -dNOPAUSE -dBATCH "$@"; }

printf '.sp 2i\nFirst page of groff text.\n.bp\nSecond page.\n.bp\nThird page.\n' | groff -Tps > groff-3pages.ps
gsx -dPAGES=5 -sDEVICE=pdfwrite -o gs-pdfwrite-5pages.pdf pages.ps.in
pdftops gs-pdfwrite-5pages.pdf pdftops-5pages.ps
qpdf --object-streams=generate gs-pdfwrite-5pages.pdf qpdf-objstm-5pages.pdf
# Incremental updates that remove the last page: the new revision's /Count is 4,
# while the old revision's /Count 5 and the orphaned fifth /Type /Page remain.
cat > /tmp/printplane-remove-last-page.py <<'PY'
import sys
from pypdf import PdfWriter
writer = PdfWriter(sys.argv[1], incremental=True)
writer.remove_page(len(writer.pages) - 1)
writer.write(sys.argv[2])
PY
"$PYTHON" /tmp/printplane-remove-last-page.py gs-pdfwrite-5pages.pdf pypdf-incremental-4pages.pdf
"$PYTHON" /tmp/printplane-remove-last-page.py qpdf-objstm-5pages.pdf pypdf-objstm-incremental-4pages.pdf
gsx -dPAGES=3 -sDEVICE=ljet4 -r300 -o gs-ljet4-3pages.pcl pages.ps.in
gsx -dPAGES=3 -sDEVICE=ljet4pjl -r300 -o gs-ljet4pjl-3pages.pcl pages.ps.in
gsx -dPAGES=3 -sDEVICE=pcl3 -r300 -o gs-pcl3-3pages.pcl pages.ps.in
gsx -dPAGES=2 -sDEVICE=cljet5 -r75 -o gs-cljet5-2pages.pcl pages.ps.in
gsx -dPAGES=3 -sDEVICE=pxlmono -r300 -o gs-pxlmono-3pages.pxl pages.ps.in

# A deflate bomb (ours, not a real tool's): an object stream holding the page
# tree that inflates to 16 MiB, mostly spaces, from about 16 KiB.
python3 - <<'PY'
import zlib
objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>"]
header = b"1 0 2 %d\n" % (len(objects[0]) + 1)
content = header + objects[0] + b" " + objects[1] + b" " * (16 << 20)
packed = zlib.compress(content, 9)
pdf = (b"%%PDF-1.5\n10 0 obj\n<< /Type /ObjStm /Filter /FlateDecode /N 2 /First %d /Length %d >>\nstream\n"
       % (len(header), len(packed)))
pdf += packed + b"\nendstream\nendobj\n"
pdf += b"11 0 obj\n<< /Type /XRef /Root 1 0 R /Size 12 /W [1 2 1] /Length 0 >>\nstream\n\nendstream\nendobj\nstartxref\n0\n%%EOF\n"
open("zlib-bomb-objstm.pdf", "wb").write(pdf)
PY
