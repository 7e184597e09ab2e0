"The command-line layer (04c_cli): miniai-sample's outputs, its refusals before any work, atomic image writes."
import os, subprocess, sys
import pytest
from PIL import Image

def test_cli_writes_grid(folder, tmp_path):
    "A row per prompt, `--n` images in each row"
    out = tmp_path/'g.png'
    r = subprocess.run([sys.executable, '-m', 'miniai.stable_diffusion', 'a cat|a dog|a cow', '--n', '2', '--steps', '1',
                        '--model', str(folder), '--out', str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert Image.open(out).size == (32, 48) and 'wrote' in r.stdout

@pytest.mark.parametrize('name, problem', [('keep.xbm', 'cannot hold an RGB image'), ('grid.nope', "extension '.nope'"),
                                           ('adir', 'is a folder'), ('noext', "extension '(none)'")])
def test_cli_refuses_bad_outputs_before_the_work(folder, tmp_path, python_m, name, problem):
    "An output that cannot be written is refused before the model loads, and an existing file is left as it was"
    out = tmp_path/name
    if name == 'adir': out.mkdir()
    elif name == 'keep.xbm': out.write_bytes(b'precious')
    code, _, err = python_m('miniai.stable_diffusion', 'a cat', '--n', '1', '--steps', '1', '--model', str(folder),
                            '--out', str(out))
    assert code != 0 and problem in err and 'Traceback' not in err, err
    if name == 'keep.xbm': assert out.read_bytes() == b'precious'

def test_save_image_is_atomic(tmp_path):
    from miniai.cli import save_image
    p = tmp_path/'sub'/'a.png'
    save_image(Image.new('RGB', (4, 4), 'red'), p)
    assert Image.open(p).getpixel((0, 0)) == (255, 0, 0)
    umask = os.umask(0); os.umask(umask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~umask                 # as a plain open() would have made it
    class Broken:
        def save(self, fn, format=None):
            open(fn, 'wb').write(b'half'); raise OSError('disk full')
    with pytest.raises(OSError, match='disk full'): save_image(Broken(), p)
    assert Image.open(p).getpixel((0, 0)) == (255, 0, 0) and sorted(x.name for x in p.parent.iterdir()) == ['a.png']

def test_ctrl_c_is_one_line_and_130(tmp_path, sigint_default):
    import signal, threading, time
    proc = subprocess.Popen([sys.executable, '-m', 'miniai.stable_diffusion', 'a handwritten digit one', '--steps',
                             '1000', '--n', '1', '--out', str(tmp_path/'g.png')], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, preexec_fn=sigint_default)
    chars = []   # stderr as it comes: Ctrl-C goes in once the loop's progress bar is up
    reader = threading.Thread(target=lambda: chars.extend(iter(lambda: proc.stderr.read(1), '')), daemon=True)
    reader.start()
    try:
        t0 = time.time()
        while '/1000' not in ''.join(chars[-400:]):
            assert proc.poll() is None and time.time() - t0 < 120, ''.join(chars)[-2000:]
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        proc.kill()   # never left running behind a failed test
    reader.join(timeout=10)
    err = ''.join(chars)
    assert proc.returncode == 130 and err.rstrip().endswith('miniai-sample: interrupted'), err[-2000:]   # after the bar
    assert 'Traceback' not in err and 'KeyboardInterrupt' not in err
    assert not (tmp_path/'g.png').exists()

def test_command_line_is_the_module_and_its_arguments(monkeypatch):
    import sys
    from miniai.cli import command_line
    monkeypatch.setattr(sys, 'argv', ['/somewhere/distill.py', '--out', 'runs/x', '--final-steps', '4'])
    assert command_line('miniai.distill') == 'python -m miniai.distill --out runs/x --final-steps 4'

def test_the_command_imports_none_of_the_heavy_libraries():
    "miniai-sample on the default model starts without diffusers, transformers, scipy or torch's compiler"
    from miniai.startup import command_imports
    assert command_imports() == []
