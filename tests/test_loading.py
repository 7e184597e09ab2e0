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

# --- a folder whose parts do not fit is refused at load, with one message that says which part ---

def _tiny_folder(d):
    from miniai.miniature import tiny_parts
    for name, part in tiny_parts(seed=0).items(): part.save_pretrained(d/name)
    make_scheduler('lms').save_pretrained(d/'scheduler')
    return d

def _other_unet(**change):
    from diffusers import UNet2DConditionModel
    from miniai.miniature import tiny_parts
    config = {k: v for k, v in tiny_parts(seed=0)['unet'].config.items() if not k.startswith('_')}
    return UNet2DConditionModel.from_config({**config, **change})

def _student_without_scheduler(d):
    _other_unet(time_cond_proj_dim=8).save_pretrained(d/'unet')
    import shutil; shutil.rmtree(d/'scheduler')

def _other_architecture(d):
    import shutil
    _other_unet(block_out_channels=(32, 48)).save_pretrained(d/'other')
    shutil.copy(d/'other'/'diffusion_pytorch_model.safetensors', d/'unet'/'diffusion_pytorch_model.safetensors')

def _missing_weights(d):
    from safetensors.torch import load_file, save_file
    f = d/'unet'/'diffusion_pytorch_model.safetensors'
    save_file({k: v for i, (k, v) in enumerate(load_file(f).items()) if i % 5}, f)

def _empty_tokenizer(d):
    import json
    f = d/'tokenizer'/'tokenizer.json'
    t = json.loads(f.read_text())
    t['model'].update(vocab={}, merges=[]); t['added_tokens'] = []
    f.write_text(json.dumps(t))

BROKEN = {
    'a student without its scheduler': (_student_without_scheduler, 'this student is distilled for its own sampler'),
    'a corrupt scheduler config': (lambda d: (d/'scheduler'/'scheduler_config.json').write_text('{not json'),
                                   'scheduler/scheduler_config.json is missing or unreadable'),
    'UNet weights of another architecture': (_other_architecture, 'weights that do not fit its config'),
    'UNet weights with tensors missing': (_missing_weights, 'the weights in unet/ do not fit its config'),
    'a UNet for another text encoder': (lambda d: _other_unet(cross_attention_dim=48).save_pretrained(d/'unet'),
                                        'the UNet reads text of width 48 but the text encoder writes 32'),
    'an empty tokenizer': (_empty_tokenizer, 'its tokenizer cannot read text'),
    'a corrupt training_log.json': (lambda d: (d/'training_log.json').write_text('{"steps": 4'), 'is not valid JSON'),
}

def _command_components(d, device=None):
    from miniai.cli import command_components
    return command_components(d)

# the command's loading (the lean classes where they build the model) keeps every check
@pytest.mark.parametrize('load', [load_components, _command_components], ids=['load_components', 'command'])
@pytest.mark.parametrize('what', BROKEN)
def test_a_broken_folder_is_one_clear_error(tmp_path, what, load):
    d = _tiny_folder(tmp_path/'m')
    damage, message = BROKEN[what]
    damage(d)
    with pytest.raises(OSError, match=message) as e: load(d, device='cpu')
    assert str(d) in str(e.value) and '\n' not in str(e.value).strip()

def test_the_meta_device_is_refused_before_loading():
    with pytest.raises(ValueError, match="device='meta' holds no weights, so loading would lose them"): load_components(device='meta')

def test_the_command_builds_the_tiny_folder_lean_and_samples_the_same(tmp_path):
    "A folder the lean classes can build goes the lean way, and samples what `load_components` samples"
    from miniai.cli import lean_components
    from miniai.sampling import generate_latents
    d = _tiny_folder(tmp_path/'m')
    lean = lean_components(d)
    assert type(lean.unet).__module__ == 'miniai.lean' and type(lean.scheduler).__name__ == 'LMS'
    a, b = (generate_latents(c, ['a cat', 'a dog'], steps=5, seed=1, progress=False, negative_prompt='red')
            for c in (lean, load_components(d, device='cpu')))
    assert (a - b).abs().max() < 1e-4
    with pytest.raises(NotImplementedError, match='only the decoder'): lean.vae.encode(a)

def test_what_the_lean_classes_cannot_build_goes_to_load_components(tmp_path):
    from miniai.cli import lean_components
    d = _tiny_folder(tmp_path/'m')
    assert lean_components(d, scheduler='euler') is None and lean_components('digits-4step') is None
    assert lean_components('someone/some-model') is None
    _other_unet(use_linear_projection=True).save_pretrained(d/'unet')
    assert lean_components(d) is None and load_components(d, device='cpu').unet.config.use_linear_projection
