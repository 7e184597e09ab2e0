"The notebooks are the source: the modules and README must be what they generate."
import shutil, subprocess, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent

def test_modules_match_notebooks(tmp_path):
    "Export the notebooks into a scratch copy and compare every module with the committed one"
    for p in ['nbs', 'pyproject.toml']:
        src = root/p
        if src.is_dir(): shutil.copytree(src, tmp_path/p, ignore=shutil.ignore_patterns('data', 'out', '.ipynb_checkpoints'))
        else: shutil.copy(src, tmp_path/p)
    (tmp_path/'miniai').mkdir()
    shutil.copy(root/'miniai'/'__init__.py', tmp_path/'miniai'/'__init__.py')
    exe = Path(sys.executable).parent/'nbdev-export'
    subprocess.run([str(exe)], cwd=tmp_path, check=True, capture_output=True)
    made = {p.name: p.read_text() for p in (tmp_path/'miniai').glob('*.py')}
    have = {p.name: p.read_text() for p in (root/'miniai').glob('*.py')}
    assert sorted(made) == sorted(have)
    for name in made: assert made[name] == have[name], f"miniai/{name} differs from what its notebook exports"

def test_readme_matches_index():
    sys.path.insert(0, str(root/'tools'))
    from make_readme import render
    assert (root/'README.md').read_text() == render(), "README.md is out of date: run `make readme`"

def test_no_module_imports_private_names():
    "Modules import only the public names of other modules"
    import ast, miniai
    from pathlib import Path
    bad = []
    for p in Path(miniai.__file__).parent.glob('*.py'):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or '').split('.')[0] == 'miniai'):
                bad += [f"{p.name}: {a.name}" for a in node.names if a.name.startswith('_')]
    assert not bad, bad
