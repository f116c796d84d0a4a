#!/usr/bin/env bash
# Regenerates the page-counting fixtures with real tools nobody here wrote.
# Needs: ghostscript (gs), groff, poppler-utils (pdftops, pdftocairo), qpdf, cups
# (cupsfilter) with cups-filters (gstopxl, pxlmono.ppd), libreoffice-writer-nogui,
# and pypdf + reportlab in a Python environment
# (python3 -m venv /tmp/pyenv && /tmp/pyenv/bin/pip install pypdf reportlab).
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

# PCL XL: ghostscript's own devices, with copies (PageCopies on each EndPage) and duplex.
gsx -dPAGES=4 -sDEVICE=pxlmono -r150 -dNumCopies=2 -dDuplex -o gs-pxlmono-duplex-copies2-4pages.pxl pages.ps.in
gsx -dPAGES=3 -sDEVICE=pxlcolor -r75 -o gs-pxlcolor-3pages.pxl pages.ps.in

# PCL 5 / PCL 3: duplex LaserJet with copies (ESC&l2X, ESC&l1S), DeskJet drivers.
gsx -dPAGES=4 -sDEVICE=ljet4d -r150 -dNumCopies=2 -o gs-ljet4d-duplex-copies2-4pages.pcl pages.ps.in
gsx -dPAGES=3 -sDEVICE=cdj550 -r150 -o gs-cdj550-3pages.pcl pages.ps.in
gsx -dPAGES=3 -sDEVICE=cdjmono -r150 -o gs-cdjmono-3pages.pcl pages.ps.in

# PDF from several producers and structures.
gsx -dPAGES=5 -sDEVICE=pdfwrite -dCompatibilityLevel=1.4 -o gs-pdfwrite14-5pages.pdf pages.ps.in
gsx -dPAGES=5 -sDEVICE=pdfwrite -dCompatibilityLevel=1.7 -o gs-pdfwrite17-5pages.pdf pages.ps.in
qpdf --linearize gs-pdfwrite14-5pages.pdf qpdf-linearized-5pages.pdf
# Owner-password-only ("protected") files: empty user password.
qpdf --encrypt "" owner 128 --use-aes=y -- gs-pdfwrite14-5pages.pdf qpdf-aes128-5pages.pdf
qpdf --encrypt "" owner 256 -- gs-pdfwrite14-5pages.pdf qpdf-aes256-5pages.pdf
qpdf --object-streams=generate --encrypt "" owner 256 -- gs-pdfwrite14-5pages.pdf qpdf-aes256-objstm-5pages.pdf
pdftocairo -pdf gs-pdfwrite14-5pages.pdf pdftocairo-5pages.pdf
cat > /tmp/printplane-reportlab.py <<'PY'
import sys
from reportlab.pdfgen import canvas
c = canvas.Canvas(sys.argv[1])
for n in range(1, 8):
    c.drawString(72, 720, "Printplane page-count fixture, page %d" % n)
    c.rect(72, 400, n * 20, 40, fill=1)
    c.showPage()
c.save()
PY
"$PYTHON" /tmp/printplane-reportlab.py reportlab-7pages.pdf
# An incremental update that adds two pages (of the reportlab file) to the five.
cat > /tmp/printplane-add-pages.py <<'PY'
import sys
from pypdf import PdfReader, PdfWriter
writer = PdfWriter(sys.argv[1], incremental=True)
for page in PdfReader(sys.argv[2]).pages[:2]:
    writer.add_page(page)
writer.write(sys.argv[3])
PY
"$PYTHON" /tmp/printplane-add-pages.py gs-pdfwrite14-5pages.pdf reportlab-7pages.pdf pypdf-incremental-add-7pages.pdf
printf 'Printplane page-count fixture\n\fSecond page\n\fThird page\n' > /tmp/libreoffice-3pages.txt
soffice --headless --convert-to pdf --outdir /tmp /tmp/libreoffice-3pages.txt >/dev/null
mv /tmp/libreoffice-3pages.pdf libreoffice-3pages.pdf

# The CUPS driver path for a PCL 6 printer: pdftopdf, then gstopxl (gstoraster with
# OUTFORMAT=PXL) as the pxlmono.ppd's *cupsFilter says. -e runs the PPD's filters.
cupsfilter -e -p /usr/share/ppd/cupsfilters/pxlmono.ppd -m printer/cupsfilter \
  -o Resolution=150dpi -o Duplex=DuplexNoTumble -n 2 gs-pdfwrite-5pages.pdf \
  > cupsfilter-gstopxl-duplex-5pages.pxl 2>/dev/null

gsx -dPAGES=3 -sDEVICE=pdfwrite -o /tmp/printplane-shapes-3pages.pdf shapes.ps.in
# PostScript embedding EPS figures (groff .PSPIC wraps each in %%BeginDocument/%%EndDocument).
(cd /tmp && pdftocairo -eps -f 1 -l 1 printplane-shapes-3pages.pdf cfig.eps &&
  printf '.sp 1i\nPage one with a figure.\n.PSPIC cfig.eps 2i\n.bp\nPage two.\n.PSPIC cfig.eps 1i\n.bp\nPage three.\n' \
  | groff -Tps) > groff-pspic-eps-3pages.ps

# PostScript through CUPS' filter chain (pdftopdf, pdftops, pstops) with two copies
# and duplex: CUPS makes the copies itself and pads each copy to an even page count.
cupsfilter -m application/vnd.cups-postscript -o pdftops-renderer=pdftops -n 2 \
  -o sides=two-sided-long-edge /tmp/printplane-shapes-3pages.pdf > cupsfilter-pstops-duplex-copies2-8pages.ps 2>/dev/null

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
