import os
os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('MPLBACKEND', 'Agg')
import pytest

@pytest.fixture(scope='session')
def folder(tmp_path_factory):
    "Untrained tiny SD parts saved in diffusers layout: a local model folder built from configs, no network"
    from miniai.miniature import tiny_parts
    from miniai.loading import make_scheduler
    d = tmp_path_factory.mktemp('tiny-sd')
    for name, part in tiny_parts(seed=0).items(): part.save_pretrained(d/name)
    make_scheduler('lms').save_pretrained(d/'scheduler')
    return d

@pytest.fixture(scope='session')
def c(folder):
    "The tiny parts loaded back with our loader, on the CPU in float32"
    from miniai.loading import load_components
    return load_components(folder, device='cpu')

def _sigint_default():
    import signal
    signal.signal(signal.SIGINT, signal.SIG_DFL)

@pytest.fixture(scope='session')
def sigint_default():
    """A `preexec_fn` that gives a child process SIGINT's default back, as a terminal's Ctrl-C would find it: a shell
    without job control (a CI script run with `&`) starts background jobs with SIGINT ignored, children inherit that,
    and Python then never raises KeyboardInterrupt"""
    return _sigint_default

@pytest.fixture(scope='session')
def clf():
    "The independent digit classifier (the judge of the quality measures): the shipped one, as the notebooks use"
    from miniai.evaluate import load_judge
    return load_judge()

@pytest.fixture
def python_m(monkeypatch, capsys):
    """`python -m MODULE ARGS...` run in this process, as Python runs it (runpy, `__name__ == '__main__'`), without a
    second start of Python: returns (exit status, stdout, stderr)"""
    import runpy, sys, warnings
    def run(module, *args):
        monkeypatch.setattr(sys, 'argv', [module, *map(str, args)])
        capsys.readouterr()
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings('ignore', message='.*found in sys.modules', category=RuntimeWarning)
                runpy.run_module(module, run_name='__main__', alter_sys=True)
            code = 0
        except SystemExit as e: code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        out = capsys.readouterr()
        return code, out.out, out.err
    return run
