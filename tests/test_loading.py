"Loading models (04b_loading): folders, embedded models, hub ids offline, schedulers."
import pytest
from miniai.sampling import generate
from miniai.loading import load_components, make_scheduler

def test_scheduler_choice(folder):
    from diffusers import DDIMScheduler
    assert type(load_components(folder, scheduler='ddim').scheduler).__name__ == 'DDIMScheduler'
    inst = DDIMScheduler.from_config(make_scheduler('lms').config)
    assert load_components(folder, scheduler=inst).scheduler is inst
    with pytest.raises(ValueError, match='scheduler must be one of'): load_components(folder, scheduler='nope')
    with pytest.raises(TypeError, match='scheduler must be one of'): load_components(folder, scheduler=3)

def test_hub_id_offline_is_clear_and_fast(monkeypatch):
    import time
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    t = time.time()
    with pytest.raises(OSError, match=r"'someone/not-cached-model'.*local folder"): load_components('someone/not-cached-model')
    assert time.time() - t < 20

def test_default_model_loads(recwarn):
    c = load_components()
    assert c.device.type in ('cpu', 'cuda') and hasattr(c.scheduler, 'step')
    assert generate(c, ['3'], steps=2, seed=0, progress=False)[0].size[0] > 0
