"""Write README.md from nbs/index.ipynb (nbdev's own `nbdev-readme` needs Quarto, which is not installable offline)."""
import re
from pathlib import Path
import nbformat
from nbconvert import MarkdownExporter

root = Path(__file__).resolve().parent.parent
nb = nbformat.read(root/'nbs'/'index.ipynb', as_version=4)
for c in nb.cells:
    if c.cell_type == 'code': c.source = re.sub(r'^#\|.*\n?', '', c.source, flags=re.M)
    if c.cell_type == 'code': c.outputs = []
body, _ = MarkdownExporter(exclude_output=True).from_notebook_node(nb)
body = re.sub(r'\n{3,}', '\n\n', body).strip() + '\n'
body = body.replace('](../', '](')  # links and images relative to nbs/ become relative to the root
(root/'README.md').write_text('<!-- generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook -->\n\n' + body)
