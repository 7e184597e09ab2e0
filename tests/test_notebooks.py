"The notebooks as a learner opens them: executed by a real Jupyter kernel, and the Colab install cell that every notebook starts with."
import importlib.util, json, subprocess, sys
from pathlib import Path
import pytest

NBS = Path(__file__).resolve().parent.parent/'nbs'
NOTEBOOKS = sorted(NBS.glob('[0-9][0-9]*_*.ipynb'))
REPO = 'miniai @ git+https://github.com/miniai/miniai'

def first_code_cell(path):
    cells = json.loads(path.read_text())['cells']
    return ''.join(next(c for c in cells if c['cell_type'] == 'code')['source'])

def test_notebook_04_runs_in_a_real_kernel(tmp_path, monkeypatch):
    "nbdev-test runs notebooks in-process; this runs 04 the way Jupyter does, through an IPython kernel"
    import nbformat
    monkeypatch.delenv('MPLBACKEND', raising=False)   # the kernel draws its plots inline, as in Jupyter
    from nbclient import NotebookClient
    nb = nbformat.read(NBS/'04_stable_diffusion.ipynb', as_version=4)
    # up to the homework: the loop by hand, its figures and the three functions (nbdev-test runs the rest)
    nb.cells = nb.cells[:next(i for i, c in enumerate(nb.cells) if c.source.startswith('## Homework'))]
    for c in nb.cells:
        if c.cell_type == 'code': c.outputs = []
    NotebookClient(nb, timeout=600, kernel_name='python3', resources={'metadata': {'path': str(tmp_path)}}).execute()   # raises on any error
    outputs = [o for c in nb.cells if c.cell_type == 'code' for o in c.outputs]
    assert not [o for o in outputs if o.output_type == 'error']
    figures = [o for o in outputs if 'image/png' in o.get('data', {})]
    assert len(figures) >= 5, f"04 should draw its figures (σ plots, the seven, digit grids), got {len(figures)}"

@pytest.mark.parametrize('path', NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_starts_with_the_install_cell(path):
    src = first_code_cell(path)
    assert 'find_spec' in src and REPO in src, path.name

def run_install_cell(monkeypatch, installed):
    "Run the install cell with `find_spec` answering as if miniai were (not) installed; return the commands it ran"
    calls = []
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name, *a: (real(name, *a) if installed else None) if name == 'miniai' else real(name, *a))
    monkeypatch.setattr(subprocess, 'run', lambda cmd, **kw: calls.append(cmd))
    exec(first_code_cell(NOTEBOOKS[0]).replace('#| hide', ''), {})
    return calls

def test_install_cell_does_nothing_where_miniai_is_installed(monkeypatch):
    assert run_install_cell(monkeypatch, installed=True) == []

def test_install_cell_installs_from_the_repository_elsewhere(monkeypatch):
    calls = run_install_cell(monkeypatch, installed=False)
    assert calls == [[sys.executable, '-m', 'pip', 'install', '-q', REPO]]
