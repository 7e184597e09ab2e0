"The prepared GPU check (09a_gpu_check): its CPU path, the wheels it needs, its report; the GPU parts run only on CUDA."
import re, subprocess, sys
from pathlib import Path
import pytest, torch
from miniai.gpu_check import GPU_WHEELS, wheels_missing, gpu_check, markdown_report

ROOT = Path(__file__).parents[1]

def fake_wheels(folder, names=GPU_WHEELS):
    folder.mkdir(exist_ok=True)
    for n in names: (folder/f'{n}-1.0-py3-none-any.whl').touch()
    return folder

def test_wheels_missing_names_what_is_not_there(tmp_path):
    assert wheels_missing(tmp_path) == list(GPU_WHEELS)
    assert wheels_missing(fake_wheels(tmp_path/'w', GPU_WHEELS[:1])) == list(GPU_WHEELS[1:])
    assert wheels_missing(fake_wheels(tmp_path/'all')) == []

def test_makefile_downloads_exactly_the_wheels_the_check_needs():
    text = (ROOT/'Makefile').read_text()
    pinned = re.search(r'^GPU_WHEELS := (.*)$', text, re.M).group(1).split()
    assert sorted(p.split('==')[0] for p in pinned) == sorted(GPU_WHEELS)
    assert 'gpu-check:' in text and '--only-binary=:all:' in text and '.whl/' in (ROOT/'.gitignore').read_text()

@pytest.mark.skipif(torch.cuda.is_available(), reason='the CPU path: on a GPU the check itself runs')
def test_without_cuda_one_line_and_exit_0_once_the_wheels_are_there(tmp_path):
    lines = []
    with pytest.raises(ValueError, match=r'wheels: no CUDA here, and no wheel for .*importlib_metadata'):
        gpu_check(out=tmp_path/'o', wheels=fake_wheels(tmp_path/'w', GPU_WHEELS[:2]), out_fn=lines.append)
    assert gpu_check(out=tmp_path/'o', wheels=fake_wheels(tmp_path/'all'), out_fn=lines.append) is None
    assert lines == [f"gpu check: no CUDA here; ready for a GPU machine (wheels for {', '.join(GPU_WHEELS)} in "
                     f"{tmp_path/'all'})"]
    assert not (tmp_path/'o').exists()
    r = subprocess.run([sys.executable, '-m', 'miniai.bench', 'gpu', '--wheels', str(tmp_path/'all')],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.strip().count('\n') == 0 and 'no CUDA here' in r.stdout, r.stderr
    r = subprocess.run([sys.executable, '-m', 'miniai.bench', 'gpu', '--wheels', str(tmp_path/'none')],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2 and 'make gpu-wheels' in r.stderr

def test_report_table_and_failed_parts():
    r = dict(gpu='X', torch='t', cuda='c', fp16=dict(ok=True, max_abs_diff=1e-3),
             sd15_eager=dict(ok=True, ours_it_s=50.0, diffusers_it_s=40.0, mfu_ours=0.1, mfu_diffusers=None,
                             ratio_median=0.8, ours_peak_mem=2**31, diffusers_peak_mem=2**31),
             cuda_matmul=dict(ok=False, error='RuntimeError: boom'))
    md = markdown_report(r)
    assert '| SD v1.5 512², fp16, 50 guided steps, eager: it/s (MFU) | 50.0 (10.0%) | 40.0 (n/a) | 0.800 |' in md
    assert '2.00 GiB' in md and 'Failed: cuda_matmul (RuntimeError: boom)' in md and '1.00e-03' in md
