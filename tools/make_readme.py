"""Render nbs/index.ipynb into README.md (nbdev-readme needs quarto, which this project does not).

`python tools/make_readme.py` writes README.md; `--check` exits 1 if README.md is out of date."""
import json, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def render(nb_path=root/'nbs'/'index.ipynb'):
    "Markdown cells as they are, code cells as fenced Python with their text outputs"
    nb = json.loads(Path(nb_path).read_text())
    parts = ['<!-- generated from nbs/index.ipynb by tools/make_readme.py: edit the notebook, not this file -->']
    for c in nb['cells']:
        src = ''.join(c['source']).strip()
        if src.startswith('#|'): continue
        if c['cell_type'] == 'markdown': parts.append(src)
        elif src: parts.append(f"```python\n{src}\n```")
    return '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    text, out = render(), root/'README.md'
    if '--check' in sys.argv:
        if not out.exists() or out.read_text() != text: sys.exit('README.md is out of date: run `make readme`')
    else: out.write_text(text)
