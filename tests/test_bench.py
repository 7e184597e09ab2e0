import subprocess, sys
import pytest
from miniai.bench import run_benchmark

def test_unknown_benchmark():
    with pytest.raises(ValueError, match='expected one of: matmul, quality, sd'): run_benchmark('nope')

def test_matmul_table_prints(capsys):
    import miniai.matmul as mm
    rows = mm.bench_matmul(shapes=((5, 784, 10), (64, 64, 64)), impls=['naive', 'broadcast', 'torch', 'blocked'], limit=0.5)
    out = capsys.readouterr().out
    assert 'CPU peak estimate' in out and 'GFLOP/s' in out and 'blocked' in out
    assert {r['impl'] for r in rows} == {'naive', 'broadcast', 'torch', 'blocked'}
    assert all(r['seconds'] > 0 for r in rows)

def test_cli_rejects_unknown():
    r = subprocess.run([sys.executable, '-m', 'miniai.bench', 'nope'], capture_output=True, text=True)
    assert r.returncode != 0 and 'unknown benchmark' in r.stderr
