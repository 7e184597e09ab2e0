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

@pytest.fixture(scope='session')
def clf():
    "The independent digit classifier (the judge of the quality measures): the shipped one, as the notebooks use"
    from miniai.evaluate import load_judge
    return load_judge()
