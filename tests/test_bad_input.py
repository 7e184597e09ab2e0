"Bad input, table by table: every public function and every command names the argument and what it expected."
import subprocess, sys, time
import numpy as np, pytest, torch
from PIL import Image
from miniai.sampling import generate_latents, slerp, encode_prompts
from miniai.loading import load_components

LAT = torch.zeros(1, 4, 8, 8)
NAN = torch.full((1, 4, 8, 8), float('nan'))

@pytest.mark.parametrize('kw, err, match', [
    (dict(latents=[[0.]]), TypeError, 'latents must be a tensor'),
    (dict(latents=NAN), ValueError, 'latents hold NaN or inf'),
    (dict(generator=42), TypeError, r'generator must be a torch.Generator, got int \(for a number, pass seed=\)'),
    (dict(seed='1'), ValueError, r'seed must be an int in 0..2\*\*64-1'),
    (dict(seed=-1), ValueError, r'seed must be an int in 0..2\*\*64-1'),
    (dict(seed=2**64), ValueError, r'seed must be an int in 0..2\*\*64-1'),
    (dict(guidance_scale=True), ValueError, 'guidance_scale must be a finite number'),
    (dict(guidance_scale=float('inf')), ValueError, 'guidance_scale must be a finite number'),
    (dict(steps=0), ValueError, 'steps must be an int >= 1'),
    (dict(strength=1.5, init_image=Image.new('RGB', (16, 16))), ValueError, r'strength must be in \[0, 1\]'),
    (dict(height=15), ValueError, 'height must be a positive multiple of 2'),
    (dict(callback=lambda i, t, x: x[:, :2]), ValueError, r'callback must return None or latents of shape \(1, 4, 8, 8\)'),
    (dict(callback=lambda i, t, x: 3), ValueError, 'callback must return None or latents'),
])
def test_generate_latents_rejects(c, kw, err, match):
    with pytest.raises(err, match=match): generate_latents(c, ['a cat'], steps=kw.pop('steps', 2), progress=False, **kw)

def test_prompts_name_the_bad_item(c):
    with pytest.raises(TypeError, match=r'prompts\[1\] must be a string, got int \(3\)'): encode_prompts(c, ['a cat', 3])
    with pytest.raises(TypeError, match=r'negative_prompt\[0\] must be a string'): encode_prompts(c, ['a cat'], [None])
    with pytest.raises(ValueError, match='prompts is empty'): encode_prompts(c, [])

def test_devices():
    with pytest.raises(ValueError, match="device must be 'cpu', 'cuda'"): load_components(device='gpu')
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda' but CUDA is not available"): load_components(device='cuda')

def test_slerp_of_a_zero_vector_is_finite():
    z, v = torch.zeros(4), torch.tensor([1., 2., 3., 4.])
    for t in (0., 0.3, 1.):
        out = slerp(z, v, t)
        assert torch.isfinite(out).all()
        torch.testing.assert_close(out, t * v)

@pytest.mark.parametrize('model, err, match', [
    ('/no/such/folder', FileNotFoundError, "no such folder '/no/such/folder'"),
    ('./relative/nope', FileNotFoundError, 'no such folder'),
    ('~/not-here-either', FileNotFoundError, 'no such folder'),
    (42, TypeError, 'model must be a hub id, a folder path or None'),
])
def test_load_components_paths(model, err, match):
    with pytest.raises(err, match=match): load_components(model)

def test_load_components_damaged_folders(folder, tmp_path):
    import shutil
    with pytest.raises(OSError, match='not in diffusers layout: no tokenizer/'): load_components(tmp_path)
    bad = tmp_path/'bad'; shutil.copytree(folder, bad)
    w = bad/'unet'/'diffusion_pytorch_model.safetensors'; w.write_bytes(w.read_bytes()[:500])
    with pytest.raises(OSError, match=r'cannot load unet/'): load_components(bad, device='cpu')
    pick = tmp_path/'pickled'; shutil.copytree(folder, pick)
    (pick/'vae'/'diffusion_pytorch_model.safetensors').rename(pick/'vae'/'diffusion_pytorch_model.bin')
    with pytest.raises(OSError, match=r'vae/ has no .safetensors weights \(only diffusion_pytorch_model.bin: pickle-based'):
        load_components(pick, device='cpu')

def test_offline_message_names_the_command(monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    with pytest.raises(OSError, match=r'`hf download nobody/no-model`.*`--model` for the commands, the MODEL variable'):
        load_components('nobody/no-model')

def run(cmd):
    t = time.time()
    r = subprocess.run([sys.executable, '-m'] + cmd, capture_output=True, text=True, timeout=120)
    return r, time.time() - t

def one_line_error(code, err, expected):
    lines = err.strip().splitlines()
    assert code == 2, (code, err)
    assert 'Traceback' not in err and expected in lines[-1], err
    return lines

def no_model(monkeypatch):
    "From here on, loading a model fails the test: the checks that need none must come first"
    def never(*a, **kw): raise AssertionError('the model was loaded before the arguments were checked')
    for where in ('miniai.cli.load_components', 'miniai.loading.load_components'): monkeypatch.setattr(where, never)

@pytest.mark.parametrize('args, expected', [
    (['--steps', '0'], '--steps must be an int >= 1, got 0'),
    (['--n', '0'], '--n must be an int >= 1'),
    (['--scheduler', 'nope'], "scheduler must be one of ['lms', 'ddim', 'euler', 'dpm'], got 'nope'"),
    (['--seed', '-1'], 'seed must be an int in 0..2**64-1'),
    (['--guidance', 'nan'], '--guidance must be a finite number'),
    (['--out', 'new/deeper/grid.nope'], "--out: cannot write images with extension '.nope'"),
    (['--model', '/no/such/model'], "model: no such folder '/no/such/model'"),
    (['--height', '15'], 'height must be a positive multiple of 2'),
    (['--height', '100000'], 'pass --force to try anyway'),
])
def test_sample_command_errors(folder, tmp_path, python_m, monkeypatch, args, expected):
    model = [] if '--model' in args else ['--model', str(folder)]
    out = [] if '--out' in args else ['--out', str(tmp_path/'g.png')]
    args = [str(tmp_path/a) if a.startswith('new/') else a for a in args]
    if not {'--model', '--height'} & set(args): no_model(monkeypatch)
    code, _, err = python_m('miniai.stable_diffusion', 'a cat', '--steps', '1', *model, *out, *args)
    lines = one_line_error(code, err, expected)
    assert len(lines) == 1 and not (tmp_path/'g.png').exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []                 # nothing written, no folder made

def test_sample_checks_before_loading_the_model(tmp_path):
    "Errors that need no model come before it loads: a model folder that does not exist is never reached"
    r, secs = run(['miniai.stable_diffusion', 'a cat', '--steps', '0', '--model', '/no/such/model', '--out', str(tmp_path/'g.png')])
    one_line_error(r.returncode, r.stderr, '--steps must be an int >= 1')
    assert secs < 20, secs   # about 2-3 s on this 2-core machine: torch's import, then the checks

@pytest.mark.parametrize('args, expected', [
    (['--query', 'b'], 'the following arguments are required: --reference'),
    (['--reference', 'a', '--query', ''], 'query is empty'),
    (['--reference', 'a', '--query', 'b', '--strength', '0'], '--strength must be in (0, 1], got 0.0'),
    (['--reference', 'a', '--query', 'b', '--threshold', '2'], '--threshold must be in [0, 1]'),
    (['--reference', 'a', '--query', 'b', '--n', '0'], '--n must be an int >= 1'),
    (['--reference', 'a', '--query', 'b', '--strength', '0.01'], '--strength 0.01 x --steps 50 = 0.5: not one denoising'),
    (['--reference', 'a', '--query', 'b', '--out', 'x.png', '--figure', 'x.png'], 'must be different files'),
])
def test_diffedit_command_errors(folder, tmp_path, python_m, monkeypatch, args, expected):
    src = tmp_path/'in.png'; Image.new('RGB', (16, 16)).save(src)
    no_model(monkeypatch)
    code, _, err = python_m('miniai.diffedit', str(src), '--model', str(folder), *args)
    one_line_error(code, err, expected)

def test_diffedit_unreadable_and_odd_images(folder, tmp_path, python_m):
    txt = tmp_path/'notes.png'; txt.write_text('not an image')
    code, _, err = python_m('miniai.diffedit', str(txt), '--reference', 'a', '--query', 'b', '--model', str(folder))
    one_line_error(code, err, "image: notes.png is not an image file")
    odd = tmp_path/'odd.png'; Image.new('RGB', (15, 16)).save(odd)
    code, _, err = python_m('miniai.diffedit', str(odd), '--reference', 'a', '--query', 'b', '--model', str(folder),
                            '--out', str(tmp_path/'o.png'))
    one_line_error(code, err, 'width and height must be multiples of 2')
    assert not (tmp_path/'o.png').exists()

@pytest.mark.parametrize('command', ['miniai.diffedit', 'miniai.imagic'])
def test_a_decompression_bomb_is_one_line(folder, tmp_path, python_m, command):
    "A small file that claims 400 million pixels is refused from its header, before any decoding"
    bomb = tmp_path/'bomb.png'
    Image.new('1', (20000, 20000)).save(bomb)
    texts = ['--reference', 'a', '--query', 'b'] if command == 'miniai.diffedit' else ['--target', 'b']
    t = time.time()
    code, _, err = python_m(command, str(bomb), '--model', str(folder), *texts)
    one_line_error(code, err, 'image has too many pixels to decode')
    assert time.time() - t < 10   # decoding 400 million pixels would take far longer

def test_help_shows_required_texts():
    r = subprocess.run([sys.executable, '-m', 'miniai.diffedit', '--help'], capture_output=True, text=True)
    usage = r.stdout.split('\n\n')[0]
    assert '--reference (str) --query (str)' in usage and '[--reference' not in usage

def test_long_prompt_warns_once(c, capfd):
    import warnings
    from miniai.sampling import embed_text
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        embed_text(c, ['word ' * 100])
    assert [str(x.message) for x in w] == ['a prompt is longer than the 77 tokens CLIP can read and was truncated']
    assert 'Token indices sequence length' not in capfd.readouterr().err     # transformers' own, misleading, warning
