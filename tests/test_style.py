"""The house rules for the library's code, as the layers issue set them: lines of at most 100 characters, one statement
a line, modules of at most 400 lines and functions of at most 40. nbdev's own lines (the `__all__` list and the module
docstring it writes from the notebook's description) are not ours to wrap."""
import ast, io, tokenize
from pathlib import Path
import pytest

MODULES = sorted(p for p in (Path(__file__).parent.parent/'miniai').glob('*.py') if p.name != '_modidx.py')
WIDTH, MODULE_LINES, FUNCTION_LINES = 100, 400, 40

def nbdev_lines(tree):
    "Line numbers nbdev writes: the module docstring and `__all__`"
    out = set()
    for n in tree.body:
        doc = isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) and n is tree.body[0]
        names = isinstance(n, ast.Assign) and any(getattr(t, 'id', None) == '__all__' for t in n.targets)
        if doc or names: out |= set(range(n.lineno, n.end_lineno + 1))
    return out

@pytest.mark.parametrize('py', MODULES, ids=lambda p: p.stem)
def test_lines_fit(py):
    src = py.read_text()
    skip = nbdev_lines(ast.parse(src))
    long = [i for i, l in enumerate(src.split('\n'), 1) if len(l) > WIDTH and i not in skip]
    assert not long, f"{py.name}: lines over {WIDTH} characters: {long[:10]}"

@pytest.mark.parametrize('py', MODULES, ids=lambda p: p.stem)
def test_one_statement_a_line(py):
    semis = [t.start[0] for t in tokenize.generate_tokens(io.StringIO(py.read_text()).readline)
             if t.type == tokenize.OP and t.string == ';']
    assert not semis, f"{py.name}: ';' chains statements on lines {semis}"

@pytest.mark.parametrize('py', MODULES, ids=lambda p: p.stem)
def test_functions_fit_a_screen(py):
    fns = [n for n in ast.walk(ast.parse(py.read_text()))
           if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    long = [f"{f.name} ({f.end_lineno - f.lineno + 1} lines)" for f in fns
            if f.end_lineno - f.lineno + 1 > FUNCTION_LINES]
    assert not long, f"{py.name}: functions over {FUNCTION_LINES} lines: {long}"

@pytest.mark.parametrize('py', MODULES, ids=lambda p: p.stem)
def test_modules_stay_small(py):
    n = len(py.read_text().splitlines())
    assert n <= MODULE_LINES, f"{py.name} has {n} lines, more than {MODULE_LINES}: split it by job"

NBS = Path(__file__).parent.parent/'nbs'
# the lessons, which a student reads top to bottom (the course issue): 01-05, the CLIP's parts, guidance, distillation
# and Imagic; machinery notebooks may hold longer cells
LESSONS = sorted(p for p in NBS.glob('*.ipynb') if p.name[:3] in ('01_', '02_', '03_', '04_', '05_', '10_', '11_', '12_')
                 or p.name.startswith('06b_'))
CELL_LINES = 40

@pytest.mark.parametrize('nb', LESSONS, ids=lambda p: p.stem)
def test_lesson_cells_fit_a_screen(nb):
    import json
    cells = [''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code']
    long = [(i, len(s.splitlines())) for i, s in enumerate(cells)
            if s.startswith('#| export') and len(s.splitlines()) > CELL_LINES]
    assert len(LESSONS) == 9 and not long, f"{nb.name}: exported cells over {CELL_LINES} lines: {long}"
