"The miniature digits model: its training code, and the model shipped in the package."
import json, time
import numpy as np, pytest, torch
from PIL import Image
from miniai.sampling import generate, generate_latents
from miniai.loading import default_model_dir, load_components, with_scheduler
import os, signal, subprocess, sys
from safetensors.torch import load_file
from miniai.train_tiny import train_tiny, VAELoss, vae_latent_shape
from miniai.clip import make_tokenizer
from miniai.data import get_mnist, digits_to_images
from miniai.miniature import captions, digit_prompt, WORDS
from miniai.evaluate import classify, digits_of, digit_image
from miniai.sampling import native_size

def test_training_smoke(tmp_path):
    "A few steps of each stage produce a folder that both our loader and diffusers read"
    log = train_tiny(tmp_path/'m', vae_steps=3, unet_steps=3, progress=False, n_images=64)
    assert log['unet_steps'] == 3 and log['scaling_factor'] > 0 and log['train_images'] == 64
    assert set(log['loop_minutes']) == {'vae', 'unet'} and not any('timed_from' in k for k in log)   # timed from step 0
    files = {p.relative_to(tmp_path/'m').as_posix() for p in (tmp_path/'m').rglob('*') if p.is_file()}
    assert not any(f.endswith('.bin') for f in files) and 'unet/diffusion_pytorch_model.safetensors' in files
    assert not (tmp_path/'m'/'checkpoints').exists() and not (tmp_path/'m'/'.tmp-model').exists()
    c = load_components(tmp_path/'m', device='cpu')
    assert c.vae.config.scaling_factor == pytest.approx(log['scaling_factor'])
    from diffusers import StableDiffusionPipeline
    pipe = StableDiffusionPipeline.from_pretrained(tmp_path/'m')
    assert pipe.unet.config.cross_attention_dim == c.text_encoder.config.hidden_size
    with pytest.raises(FileExistsError, match='already holds a finished run'): train_tiny(tmp_path/'m', vae_steps=3, unet_steps=3, progress=False, n_images=64)
    assert train_tiny(tmp_path/'m', vae_steps=3, unet_steps=4, progress=False, fresh=True, n_images=64)['unet_steps'] == 4

def test_vae_loss_matches_diffusers_sampling():
    "VAELoss with the noise drawn outside equals the loss with diffusers' own latent_dist.sample (same generator)"
    from miniai.miniature import tiny_models
    tok = make_tokenizer(captions(0))
    vae = tiny_models(tok)['vae']
    x = digits_to_images(torch.rand(4, 784))
    eps = torch.randn((4, *vae_latent_shape(vae, 32)), generator=torch.Generator().manual_seed(0))
    post = vae.encode(x).latent_dist
    ref = torch.nn.functional.mse_loss(vae.decode(post.sample(torch.Generator().manual_seed(0))).sample, x) + 1e-5 * post.kl().mean() / post.mean[0].numel()
    torch.testing.assert_close(VAELoss(vae)(x, eps), ref)

def test_cli_killed_then_rerun_resumes_to_the_same_model(tmp_path, python_m):
    """python -m miniai.train_tiny killed with SIGKILL after a UNet checkpoint; the same command again (here run
    in-process) says where it resumed"""
    args = ['--out', str(tmp_path/'killed'), '--vae-steps', '4', '--unet-steps', '12', '--bs', '8',
            '--checkpoint-every', '3', '--n-images', '64']
    out = tmp_path/'killed'
    proc = subprocess.Popen([sys.executable, '-m', 'miniai.train_tiny', *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    t0 = time.time()
    while not (out/'checkpoints'/'unet'/'checkpoint-0000003').exists():
        assert proc.poll() is None and time.time() - t0 < 120, 'the run ended before its first UNet checkpoint'
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL); proc.wait()
    assert not (out/'model_index.json').exists()
    code, stdout, err = python_m('miniai.train_tiny', *args)
    assert code == 0, err[-2000:]
    assert 'vae: resumed from step 4' in stdout and 'unet: resumed from step' in stdout
    train_tiny(tmp_path/'whole', vae_steps=4, unet_steps=12, bs=8, checkpoint_every=3, progress=False, n_images=64)
    for part in ('unet/diffusion_pytorch_model.safetensors', 'vae/diffusion_pytorch_model.safetensors', 'text_encoder/model.safetensors'):
        a, b = load_file(out/part), load_file(tmp_path/'whole'/part)
        assert all(torch.equal(a[k], b[k]) for k in a), part

def test_cli_refuses_to_overwrite_and_needs_out(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'miniai.train_tiny'], capture_output=True, text=True)
    assert r.returncode != 0 and '--out DIR is required' in r.stderr

shipped = pytest.mark.skipif(default_model_dir() is None, reason='no embedded model in this checkout')

@shipped
def test_shipped_model_is_small_and_safetensors():
    d = default_model_dir()
    size = sum(p.stat().st_size for p in d.rglob('*') if p.is_file())
    assert size <= 20 * 2**20, f'{size/2**20:.1f} MB'
    assert not list(d.rglob('*.bin')) and not list(d.rglob('*.pt'))
    log = json.loads((d/'training_log.json').read_text())
    assert log['unet_steps'] >= 1000

@shipped
def test_shipped_model_loads_fast():
    t = time.time()
    c = load_components(device='cpu')
    assert time.time() - t < 5
    assert native_size(c) == (32, 64) and c.dtype == torch.float32

@shipped
def test_shipped_model_draws_the_digit_asked_for(clf):
    c = load_components(device='cpu')
    imgs = generate(c, [digit_prompt(d) for d in range(10)] * 2, steps=20, seed=0, progress=False)
    acc = (classify(clf, digits_of(imgs)) == torch.arange(10).repeat(2)).float().mean().item()
    assert acc >= 0.8, acc

@shipped
def test_ddim_encode_decode_reconstructs():
    "DDIM inversion then DDIM decoding with the same prompt and guidance 1 gives back the latents closely"
    from miniai.diffedit import ddim_encode
    c = load_components(device='cpu')
    img = digit_image(c, 7)
    enc = ddim_encode(c, img, 'a handwritten digit seven', strength=0.5, steps=50, progress=False)
    rec = generate_latents(with_scheduler(c, 'ddim'), ['a handwritten digit seven'], guidance_scale=1.0, steps=50,
                           strength=0.5, start_latents=enc[-1], progress=False)
    rel = ((rec - enc[0]).norm() / enc[0].norm()).item()
    assert rel < RECON_TOL, rel

RECON_TOL = 0.05   # measured 1.7%-2.1% relative L2 error on four validation digits (50 steps, strength 0.5)

TINY = dict(vae_steps=2, unet_steps=2, bs=8, progress=False, n_images=64)

def test_the_user_s_files_in_the_checkpoint_folder_survive(tmp_path):
    "OUT/checkpoints holding a file of the user's: a run leaves it, a fresh start refuses and deletes nothing"
    out = tmp_path/'m'
    (out/'checkpoints').mkdir(parents=True)
    (out/'checkpoints'/'resnet-epoch90.pt').write_bytes(b'weeks of training')
    train_tiny(out, **TINY)
    assert (out/'checkpoints'/'resnet-epoch90.pt').read_bytes() == b'weeks of training'
    assert sorted(p.name for p in (out/'checkpoints').iterdir()) == ['resnet-epoch90.pt']   # ours are gone
    (out/'checkpoints'/'vae').mkdir()
    (out/'checkpoints'/'vae'/'notes.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='fit did not write'): train_tiny(out, fresh=True, **TINY)
    assert (out/'checkpoints'/'vae'/'notes.txt').exists() and (out/'checkpoints'/'resnet-epoch90.pt').exists()

@pytest.mark.parametrize('args, message', [
    (['--bs', '0'], 'bs must be an int >= 1, got 0'),
    (['--unet-steps', '0'], 'unet_steps must be an int >= 1, got 0'),
    (['--out', 'FILE'], 'is a file, not a folder'),
    (['--world', 'colour'], "--world must be 'digits' or 'scenes', got 'colour'"),
    (['--world', 'scenes', '--n-images', '64'], '--n-images is for --world digits'),
    (['--world', 'scenes', '--unet-steps', '-1'], 'unet_steps must be an int >= 1, got -1'),
    (['--init-from', 'FILE'], '--init-from is for --world scenes'),
    (['--world', 'scenes', '--init-from', 'FILE'], 'init_from: no finished model in'),
    (['--decoder-steps', '5'], '--decoder-steps is for --world scenes'),
    (['--world', 'scenes', '--decoder-steps', '-1'], 'decoder_steps must be an int >= 0, got -1'),
    (['--world', 'scenes', '--init-from', 'SCENE_SD', '--unet-steps', '0'], 'init_from: nothing to train'),
])
def test_cli_bad_arguments_before_any_work(tmp_path, python_m, args, message):
    (tmp_path/'FILE').write_text('x')
    from miniai.loading import assets_dir
    names = dict(FILE=str(tmp_path/'FILE'), SCENE_SD=str(assets_dir()/'scene-sd'))
    args = [names.get(a, a) for a in args]
    if '--out' not in args: args += ['--out', str(tmp_path/'m')]
    code, _, err = python_m('miniai.train_tiny', *args)
    assert code == 2 and message in err and 'Traceback' not in err, err
    assert not (tmp_path/'m').exists()

def test_two_processes_write_one_model(tmp_path):
    "torchrun --nproc_per_node 2: only the main process writes the model, and the run ends cleanly"
    out = tmp_path/'m'
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', '-m', 'miniai.train_tiny',
                        '--out', str(out), '--vae-steps', '2', '--unet-steps', '2', '--bs', '8', '--n-images', '64'],
                       capture_output=True, text=True, timeout=600, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stderr[-3000:]
    assert (out/'model_index.json').exists() and not (out/'checkpoints').exists()
    assert load_components(out, device='cpu').unet.config.sample_size == 8

def test_scene_model_learns_on_the_frozen_clip_text_tower(tmp_path):
    "A few steps of the colour model: the CLIP's text tower saved unchanged in float32, diffusers samples 32x64 scenes"
    from miniai.train_tiny import train_scene_sd, SCENE_LATENT
    from miniai.clip import clip_dir
    from transformers import CLIPTextModel
    log = train_scene_sd(tmp_path/'m', vae_steps=2, unet_steps=3, vae_bs=2, bs=2, n_scenes=16, checkpoint_every=3,
                         n_measure=4, progress=False, command='test')
    assert [c['step'] for c in log['curve']] == [3]
    assert all(0 <= log['curve'][0][k] <= 1 for k in ('binding', 'clip_binding'))   # the judge's, the CLIP's
    assert {'digit', 'ink', 'background', 'binding', 'mse'} <= set(log['vae_reconstruction'])
    assert log['command'] == 'test' and log['world'] == 'scenes'
    assert not (tmp_path/'m'/'checkpoints').exists() and not (tmp_path/'m'/'training_curve.json').exists()
    saved, clip = (CLIPTextModel.from_pretrained(d).state_dict() for d in (tmp_path/'m'/'text_encoder', clip_dir()))
    assert all(saved[k].dtype == torch.float32 and torch.equal(saved[k], clip[k]) for k in saved)
    from diffusers import StableDiffusionPipeline
    pipe = StableDiffusionPipeline.from_pretrained(tmp_path/'m')   # no torch_dtype: every part in float32
    assert {pipe.unet.dtype, pipe.vae.dtype, pipe.text_encoder.dtype} == {torch.float32}
    assert tuple(pipe.unet.config.sample_size) == SCENE_LATENT
    im = pipe('a red seven on the left', num_inference_steps=2, output_type='pil').images[0]
    assert im.size == (64, 32)
    c = load_components(tmp_path/'m', device='cpu')
    from miniai.sampling import native_size
    assert native_size(c) == (32, 64) and generate(c, ['a red seven'], steps=2, progress=False)[0].size == (64, 32)
    from miniai.evaluate import bench_scenes
    lines = []
    q = bench_scenes(tmp_path/'m', n=2, steps=2, report=lines.append)   # the colour measures run end to end on it
    kinds = {'handwritten', 'one digit', 'two digits', 'held out'}
    assert set(q) == kinds | {'slot_fid_floor', 'spread_ratio', 'vae_reconstruction'}
    assert all(0 <= q[k]['binding'] <= 1 and q[k]['n'] == 2 for k in kinds)
    assert len(lines) == 9 and lines[2].startswith('handwritten') and 'slot FID floor' in lines[-3]
    assert 'how two-digit prompts fail' in lines[-2] and q['two digits']['errors']['scenes'] == 2
    assert 'through the VAE and back' in lines[-1]
    # trained longer: a new run from the finished one, its VAE kept, its UNet trained on, the earlier log kept
    from safetensors.torch import load_file
    with pytest.raises(ValueError, match='init_from: .* is also the folder to write'):
        train_scene_sd(tmp_path/'m', init_from=tmp_path/'m', fresh=True)
    log2 = train_scene_sd(tmp_path/'m2', unet_steps=3, bs=2, n_scenes=16, checkpoint_every=3, n_measure=4,
                          progress=False, init_from=tmp_path/'m')
    assert log2['unet_steps_before'] == 3 and log2['init_log']['command'] == 'test' and log2['vae_steps'] == 0
    assert (tmp_path/'m2'/'training_curve.png').is_file() and log2['vae_final_loss'] is None
    w = {d: {k: load_file(tmp_path/d/k/'diffusion_pytorch_model.safetensors') for k in ('vae', 'unet')}
         for d in ('m', 'm2')}
    assert all(torch.equal(v, w['m2']['vae'][k]) for k, v in w['m']['vae'].items())
    assert not all(torch.equal(v, w['m2']['unet'][k]) for k, v in w['m']['unet'].items())
    # the decoder alone: the encoder (so every latent) and the UNet kept as they were
    log3 = train_scene_sd(tmp_path/'m3', unet_steps=0, decoder_steps=2, vae_bs=2, n_scenes=16, checkpoint_every=3,
                          n_measure=4, progress=False, init_from=tmp_path/'m2')
    assert log3['decoder_steps'] == 2 and log3['unet_steps_before'] == 6 and log3['curve'] == []
    assert 'before_decoder' in log3['vae_reconstruction'] and log3['decoder_final_loss'] > 0
    w3 = {k: load_file(tmp_path/'m3'/k/'diffusion_pytorch_model.safetensors') for k in ('vae', 'unet')}
    encoder = [k for k in w3['vae'] if k.startswith(('encoder.', 'quant_conv.'))]
    assert encoder and all(torch.equal(w['m2']['vae'][k], w3['vae'][k]) for k in encoder)
    assert all(torch.equal(v, w3['unet'][k]) for k, v in w['m2']['unet'].items())

def test_finetune_decoder_trains_the_decoder_alone():
    "finetune_decoder: the decoder's weights move, the encoder's and the latents do not, the caller's flags are kept"
    from miniai.train_tiny import finetune_decoder, encode_dataset, SCENE_LATENT, SCENE_VAE_CHANNELS
    from miniai.miniature import tiny_models
    from miniai.clip import make_tokenizer
    vae = tiny_models(make_tokenizer(['a seven']), latent_size=SCENE_LATENT, vae_channels=SCENE_VAE_CHANNELS)['vae']
    x = torch.rand(4, 3, 32, 64) * 2 - 1
    means, stds = encode_dataset(vae, x)
    before = {k: v.clone() for k, v in vae.state_dict().items()}
    vae.encoder.conv_in.weight.requires_grad_(False)   # a flag of the caller's, to be kept
    losses = finetune_decoder(vae, x, means, stds, steps=3, bs=2, warmup=1, progress=False)
    assert len(losses) == 3
    after = vae.state_dict()
    assert all(torch.equal(after[k], v) for k, v in before.items() if k.startswith(('encoder.', 'quant_conv.')))
    assert not all(torch.equal(after[k], v) for k, v in before.items() if k.startswith('decoder.'))
    assert torch.equal(encode_dataset(vae, x)[0], means)
    assert not vae.encoder.conv_in.weight.requires_grad and vae.encoder.conv_out.weight.requires_grad
