"The layers follow the reading order: a module imports only modules of earlier notebooks, a notebook uses only what it or an earlier one builds."
import ast, json, re
from pathlib import Path
import pytest

ROOT = Path(__file__).parent.parent
NOTEBOOKS = sorted((ROOT/'nbs').glob('[0-9]*.ipynb'))   # the reading order: by number

def cells(nb): return [''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code']

def homes():
    "Each module's notebook (its `default_exp`), as a position in the reading order"
    out = {}
    for i, nb in enumerate(NOTEBOOKS):
        for s in cells(nb):
            if m := re.search(r'^#\| default_exp (\S+)', s, re.M): out[m[1]] = i
    return out

HOME = homes()
# the one door past a module's lesson, and why: the loop's compile=True and the LMS coefficients it keeps are notebook
# 09's, asked for through `sampling._performance` at the first call
DOORS = {('sampling', 'perf')}

def imported(py):
    "The miniai modules `py` imports, anywhere in it (a function's own import counts as much as the module's)"
    for node in ast.walk(ast.parse(py.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level and node.module: yield node.module.split('.')[0], node.lineno
            elif node.level or node.module == 'miniai':   # from . import x, from miniai import x
                for a in node.names: yield a.name, node.lineno
            elif node.module and node.module.startswith('miniai.'): yield node.module.split('.')[1], node.lineno
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith('miniai.'): yield a.name.split('.')[1], node.lineno

def test_the_door_is_one_function():
    "`sampling` reaches `perf` in `_performance` alone, so the loop's speed-ups have one way in"
    tree = ast.parse((ROOT/'miniai'/'sampling.py').read_text())
    doors = [f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
             for n in ast.walk(f) if isinstance(n, ast.ImportFrom) and any(a.name == 'perf' for a in n.names)]
    assert doors == ['_performance']

def test_every_module_has_a_notebook():
    mods = {p.stem for p in (ROOT/'miniai').glob('*.py')} - {'__init__', '_modidx'}
    assert mods == set(HOME), mods ^ set(HOME)

@pytest.mark.parametrize('module', sorted(set(HOME) - {'bench'}))
def test_a_module_imports_only_earlier_ones(module):
    late = [f"{m} ({NOTEBOOKS[HOME[m]].stem}, line {n})" for m, n in imported(ROOT/'miniai'/f'{module}.py')
            if m in HOME and (m == 'bench' or HOME[m] > HOME[module]) and (module, m) not in DOORS]
    assert not late, f"{module} ({NOTEBOOKS[HOME[module]].stem}) imports what a later notebook builds: {late}"

@pytest.mark.parametrize('nb', NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_uses_only_what_it_or_an_earlier_one_builds(nb):
    here = NOTEBOOKS.index(nb)
    used = {m for s in cells(nb) for m in re.findall(r'(?:from|import) miniai\.(\w+)', s)}
    late = sorted(m for m in used if m in HOME and HOME[m] > here and m != 'bench')
    assert not late, f"{nb.stem} uses {', '.join(f'{m} ({NOTEBOOKS[HOME[m]].stem})' for m in late)}"
