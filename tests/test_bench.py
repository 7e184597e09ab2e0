import subprocess, sys
import pytest
from miniai.bench import run_benchmark

def test_unknown_benchmark():
    with pytest.raises(ValueError, match='expected one of: matmul, quality, sd, guidance, distill, edit'): run_benchmark('nope')

def test_matmul_table_prints(capsys):
    import miniai.matmul as mm
    rows = mm.bench_matmul(shapes=((5, 784, 10), (64, 64, 64)), impls=['naive', 'broadcast', 'torch', 'blocked'], limit=0.5)
    out = capsys.readouterr().out
    assert 'CPU peak estimate' in out and 'GFLOP/s' in out and 'blocked' in out
    assert {r['impl'] for r in rows} == {'naive', 'broadcast', 'torch', 'blocked'}
    assert all(r['seconds'] > 0 for r in rows)

def test_cli_rejects_unknown():
    r = subprocess.run([sys.executable, '-m', 'miniai.bench', 'nope'], capture_output=True, text=True)
    assert r.returncode == 2 and "invalid choice: 'nope'" in r.stderr and 'Traceback' not in r.stderr

@pytest.mark.parametrize('args, msg', [(['sd', '--steps', '0'], 'argument --steps: must be >= 1'), (['sd', '--device', 'gpu'], "argument --device: invalid choice: 'gpu'"),
                                       (['matmul', '--full'], 'unrecognized arguments: --full'), (['sd', '--size', 'huge'], "invalid choice: 'huge'"),
                                       (['sd', '--dtype', 'int8'], "argument --dtype: invalid choice: 'int8'"),
                                       (['scenes', '--n', '0'], 'argument --n: must be >= 1'),
                                       (['scenes', '--dtype', 'float16'], "argument --dtype: invalid choice: 'float16'"),
                                       (['scene-distill', '--teacher', 'x'], 'the following arguments are required: --student'),
                                       (['scene-distill', '--student', 'x', '--teacher', 'y', '--n', '0'], 'argument --n: must be >= 1')])
def test_cli_argument_errors(python_m, args, msg):
    code, _, err = python_m('miniai.bench', *args)
    assert code == 2 and len(err.splitlines()) == 1 and msg in err and 'Traceback' not in err, err

def test_scenes_refuses_a_model_of_grey_digits(python_m, folder):
    code, _, err = python_m('miniai.bench', 'scenes', '--model', folder)
    assert code == 2 and len(err.splitlines()) == 1 and 'draws (16, 16) images, not 32x64 colour scenes' in err, err

def test_cli_unreadable_model_is_one_line(python_m):
    code, _, err = python_m('miniai.bench', 'scenes', '--model', '/no/such/model')
    assert code == 2 and len(err.splitlines()) == 1 and "no such folder '/no/such/model'" in err, err

def test_scene_distill_unreadable_student_is_one_line(python_m):
    code, _, err = python_m('miniai.bench', 'scene-distill', '--student', '/no/such/student', '--teacher', 'scene-sd')
    assert code == 2 and len(err.splitlines()) == 1 and "no such folder '/no/such/student'" in err, err

def test_sub_command_help():
    r = subprocess.run([sys.executable, '-m', 'miniai.bench', 'sd', '--help'], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith('usage: python -m miniai.bench sd') and '--channels-last' in r.stdout
    assert '--compile' in r.stdout and '--dtype' in r.stdout
    assert '--full' not in r.stdout

def test_distill_run_that_is_not_there_is_refused(tmp_path):
    import subprocess, sys
    r = subprocess.run([sys.executable, '-m', 'miniai.bench', 'distill', '--run', str(tmp_path/'nonexistent')],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "is not a full distillation run's folder" in r.stderr and 'Traceback' not in r.stderr

def test_scene_edit_refuses_a_model_of_grey_digits(python_m, folder):
    code, _, err = python_m('miniai.bench', 'scene-edit', '--model', folder, '--n', '2')
    assert code == 2 and len(err.splitlines()) == 1 and 'draws (16, 16) images, not 32x64 colour scenes' in err, err
