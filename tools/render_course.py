"""Render the lessons, executed at a chosen profile, to static HTML with an index page.

    python tools/render_course.py --profile cpu            # every notebook in nbs/, into _course/
    python tools/render_course.py --profile tiny 00_data   # just one (CI does this)

The notebooks in nbs/ stay clean (nbdev wants them without outputs); the outputs live only in the HTML, with the
widget state saved so sliders render (static: they show their last value, without a kernel behind them).
Math ($T<1$) is written into the HTML as MathML, which browsers draw themselves: nbconvert's own template would
load MathJax from a CDN, and the course must read the same offline."""
import argparse, html, json, os, sys, time
from pathlib import Path
import jinja2, nbformat
from latex2mathml.converter import convert as latex2mathml
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

ROOT = Path(__file__).resolve().parents[1]

class MathMLRenderer(IPythonRenderer):
    "nbconvert's markdown renderer with `$...$` and `$$...$$` as MathML (left as TeX if latex2mathml can't read it)."
    def inline_math(self, body): return self._math(body, 'inline') or super().inline_math(body)
    def block_math(self, body): return self._math(body, 'block') or super().block_math(body)
    def _math(self, tex, display):
        try: return latex2mathml(tex, display=display)
        except Exception: return None

class OfflineHTMLExporter(HTMLExporter):
    "JupyterLab's HTML, with no MathJax script: the math is already MathML."
    def __init__(self, **kw):
        page = "{%- extends 'index.html.j2' -%}\n{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}"
        super().__init__(template_name='lab', template_file='offline.html.j2',
                         extra_loaders=[jinja2.DictLoader({'offline.html.j2': page})], **kw)

    @jinja2.pass_context
    def markdown2html(self, context, source):
        cell = context.get('cell', {})
        renderer = MathMLRenderer(escape=False, attachments=cell.get('attachments', {}), embed_images=self.embed_images,
                                  path=context.get('resources', {}).get('metadata', {}).get('path', ''),
                                  anchor_link_text=self.anchor_link_text, exclude_anchor_links=self.exclude_anchor_links,
                                  **self.lexer_options)
        return MarkdownWithMath(renderer=renderer).render(source)

def title(nb) -> str:
    for c in nb.cells:
        if c.cell_type == 'markdown' and c.source.lstrip().startswith('# '): return c.source.lstrip()[2:].splitlines()[0]
    return ''

def render(fn:Path, out:Path, timeout:int) -> dict:
    "Execute notebook `fn` in its folder and write `out/<name>.html`; returns a row for the index."
    nb = nbformat.read(fn, as_version=4)
    skip = [c for c in nb.cells if c.cell_type == 'code' and '#| eval: false' in c.source]
    for c in skip:  # as nbdev does: shown, never run (e.g. a real download)
        c.cell_type = 'raw'; c.pop('outputs', None); c.pop('execution_count', None)
    start, error = time.time(), None
    try: NotebookClient(nb, timeout=timeout, kernel_name='python3', store_widget_state=True,
                        resources={'metadata': {'path': str(fn.parent)}}).execute()
    except Exception as e: error = f'{type(e).__name__}: {str(e).strip().splitlines()[-1] if str(e).strip() else ""}'
    for c in skip: c.update(cell_type='code', outputs=[], execution_count=None)
    body, _ = OfflineHTMLExporter().from_notebook_node(nb)
    (out/f'{fn.stem}.html').write_text(body, encoding='utf-8')
    return dict(name=fn.stem, title=title(nb), seconds=round(time.time() - start), error=error)

def write_index(out:Path, rows:list, profile:str):
    items = '\n'.join(f'<li><a href="{r["name"]}.html">{html.escape(r["name"])}</a> — {html.escape(r["title"])} '
                      f'<small>({r["seconds"]} s{", FAILED: " + html.escape(r["error"]) if r["error"] else ""})</small></li>'
                      for r in rows)
    (out/'index.html').write_text(f'<!doctype html><meta charset="utf-8"><title>ulmfit_nb course ({profile})</title>\n'
                                  f'<h1>ulmfit_nb — the course, executed at the <code>{profile}</code> profile</h1>\n'
                                  f'<ol>\n{items}\n</ol>\n', encoding='utf-8')
    (out/'render.json').write_text(json.dumps(dict(profile=profile, notebooks=rows), indent=1))

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('notebooks', nargs='*', help='notebook names (default: every nbs/*.ipynb)')
    p.add_argument('--profile', default='cpu', help='scale profile to execute at (tiny, cpu, gpu)')
    p.add_argument('--out', type=Path, default=ROOT/'_course')
    p.add_argument('--timeout', type=int, default=7200, help='seconds per cell')
    a = p.parse_args(argv)
    os.environ['ULMFIT_PROFILE'] = a.profile  # the kernels inherit it
    names = a.notebooks or sorted(f.stem for f in (ROOT/'nbs').glob('*.ipynb'))
    a.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in names:
        fn = ROOT/'nbs'/(n if n.endswith('.ipynb') else f'{n}.ipynb')
        if not fn.exists(): sys.exit(f'render_course: no notebook {fn}')
        rows.append(render(fn, a.out, a.timeout))
        print(f"{rows[-1]['name']}: {rows[-1]['seconds']} s{' FAILED ' + rows[-1]['error'] if rows[-1]['error'] else ''}", flush=True)
        write_index(a.out, rows, a.profile)
    print(f'index: {a.out/"index.html"}')
    return 1 if any(r['error'] for r in rows) else 0

if __name__ == '__main__': sys.exit(main())
