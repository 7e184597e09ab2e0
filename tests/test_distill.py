"Distillation: the guidance embedding is diffusers', the targets are the papers', the shipped student is a standard diffusers model sampled in 4 steps, and bad input is named."
import json, subprocess, sys, warnings, zipfile
import pytest, torch
from miniai.data import get_mnist, digits_to_images
from miniai.miniature import digit_prompt
from miniai.sampling import guidance_embedding, generate_latents, diffusers_pipeline, embed_text
from miniai.miniature import tiny_parts
from miniai.loading import load_components, components_from_parts, make_scheduler, embedded_models, assets_dir
from miniai.guidance import cfg_rescale_pred
from miniai.training import weights_hash
from miniai.distill import (guided_student, GuidedDistillLoss, ProgressiveDistillLoss, ddim_grid, ddim_step, pd_target, alpha_sigma,
                            distill_data, distill_halve, save_student, distill)

@pytest.fixture(scope='module')
def tiny():
    "Untrained miniature components with the DDIM scheduler"
    return components_from_parts(tiny_parts(), scheduler='ddim')

@pytest.fixture(scope='module')
def student4(): return load_components('digits-4step')

def rand_like(x, seed): return torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))

@pytest.mark.parametrize('dim', [8, 9, 64, 256])
def test_guidance_embedding_is_diffusers(tiny, dim):
    pipe = diffusers_pipeline(tiny)
    for g in (1.0, 2.3, 7.5, 13.0):
        ref = pipe.get_guidance_scale_embedding(torch.tensor([g - 1] * 2), embedding_dim=dim)
        assert torch.allclose(guidance_embedding([g, g], dim), ref, atol=1e-6), g

def test_guided_student_starts_as_the_teacher_and_leaves_it_alone(tiny):
    h = weights_hash(tiny.unet)
    s = guided_student(tiny.unet, cond_dim=16)
    assert s.config.time_cond_proj_dim == 16 and weights_hash(tiny.unet) == h
    z, t = rand_like(torch.empty(2, 4, 8, 8), 0), torch.tensor([10, 900])
    emb = embed_text(tiny, ['a', 'b'])
    with torch.no_grad():
        for g in (1., 4., 8.):
            assert torch.allclose(s(z, t, emb, timestep_cond=guidance_embedding([g, g], 16)).sample, tiny.unet(z, t, emb).sample, atol=1e-5)
    with pytest.raises(ValueError, match='unet already takes the guidance scale'): guided_student(s)   # already a student

def test_stage_one_target_is_the_guided_teacher(tiny):
    "GuidedDistillLoss = MSE(student(z, t, g), u + g (c - u)) with the teacher's unconditional and text predictions"
    s = guided_student(tiny.unet, cond_dim=16)
    with torch.no_grad():
        for p in s.parameters(): p.add_(0.01 * rand_like(p, 1))   # a student that differs from the teacher
    ab = tiny.scheduler.alphas_cumprod
    loss = GuidedDistillLoss(s, tiny.unet, ab)
    x0, noise, t, g = rand_like(torch.empty(3, 4, 8, 8), 2), rand_like(torch.empty(3, 4, 8, 8), 3), torch.tensor([5, 500, 999]), torch.tensor([1., 3., 7.5])
    emb, null = embed_text(tiny, ['x', 'y', 'z']), embed_text(tiny, [''] * 3)
    z = tiny.scheduler.add_noise(x0, noise, t)
    with torch.no_grad():
        u, c = tiny.unet(z, t, null).sample, tiny.unet(z, t, emb).sample
        want = torch.nn.functional.mse_loss(s(z, t, emb, timestep_cond=guidance_embedding(g, 16)).sample, u + g[:, None, None, None] * (c - u))
        assert torch.allclose(loss(x0, noise, t, emb, null, g), want, rtol=1e-5)

@pytest.mark.parametrize('n', [1, 2, 4, 8, 16])
def test_ddim_grids_nest(n):
    assert ddim_grid(n)[0] == 999 and ddim_grid(n)[-1] == -1 and len(ddim_grid(n)) == n + 1
    assert torch.equal(ddim_grid(2 * n)[::2], ddim_grid(n))

@pytest.mark.parametrize('n', [1, 2, 4, 8])
def test_ddim_step_is_diffusers_ddim(tiny, n):
    sched = make_scheduler('ddim', {'timestep_spacing': 'trailing'}); sched.set_timesteps(n)
    ab = tiny.scheduler.alphas_cumprod
    z = rand_like(torch.empty(2, 4, 8, 8), 4)
    for k, (t, s) in enumerate(zip(ddim_grid(n)[:-1], ddim_grid(n)[1:])):
        eps = rand_like(z, 10 + k)
        assert int(sched.timesteps[k]) == int(t)
        assert torch.allclose(ddim_step(ab, z, eps, t.repeat(2), s.repeat(2)), sched.step(eps, t, z).prev_sample, atol=1e-5)

@pytest.mark.parametrize('n', [1, 2, 4])
def test_one_step_with_the_target_lands_where_two_teacher_steps_do(tiny, n):
    """The property behind progressive distillation: with x̃ from `pd_target`, one DDIM step of the n-step sampler (diffusers'
    DDIMScheduler) reproduces two DDIM steps of the teacher's 2n-step sampler, at every student step, the last one included"""
    teacher = guided_student(tiny.unet, cond_dim=16)
    with torch.no_grad(): teacher.time_embedding.cond_proj.weight.normal_()   # a teacher that listens to g
    ab = tiny.scheduler.alphas_cumprod
    half = make_scheduler('ddim', {'timestep_spacing': 'trailing'}); half.set_timesteps(n)
    emb, w = embed_text(tiny, ['a']), guidance_embedding(5., 16)
    fine = ddim_grid(2 * n)
    for i in range(n):
        t, t1, t2 = fine[2 * i, None], fine[2 * i + 1, None], fine[2 * i + 2, None]
        z = rand_like(torch.empty(1, 4, 8, 8), 20 + i)
        with torch.no_grad():
            z1 = ddim_step(ab, z, teacher(z, t, emb, timestep_cond=w).sample, t, t1)
            z2 = ddim_step(ab, z1, teacher(z1, t1, emb, timestep_cond=w).sample, t1, t2)
        x = pd_target(ab, z, z2, t, t2)
        a, s = alpha_sigma(ab, t)
        got = half.step((z - a * x) / s, int(t), z).prev_sample   # the student's one step, by diffusers
        assert torch.allclose(got, z2, atol=1e-4), (i, (got - z2).abs().max())

def test_progressive_loss_is_the_weighted_x_error(tiny):
    teacher = guided_student(tiny.unet, cond_dim=16)
    student = guided_student(tiny.unet, cond_dim=16)
    with torch.no_grad():
        for p in student.parameters(): p.add_(0.01 * rand_like(p, 5))
    ab = tiny.scheduler.alphas_cumprod
    loss = ProgressiveDistillLoss(student, teacher, ab, 2)
    x0, noise, i, g = rand_like(torch.empty(2, 4, 8, 8), 6), rand_like(torch.empty(2, 4, 8, 8), 7), torch.tensor([0, 1]), torch.tensor([2., 6.])
    emb, w = embed_text(tiny, ['a', 'b']), guidance_embedding(g, 16)
    fine = ddim_grid(4); t, t1, t2 = fine[2 * i], fine[2 * i + 1], fine[2 * i + 2]
    a, s = alpha_sigma(ab, t)
    z = a * x0 + s * noise
    with torch.no_grad():
        z1 = ddim_step(ab, z, teacher(z, t, emb, timestep_cond=w).sample, t, t1)
        z2 = ddim_step(ab, z1, teacher(z1, t1, emb, timestep_cond=w).sample, t1, t2)
        x_hat = (z - s * student(z, t, emb, timestep_cond=w).sample) / a
        want = (torch.maximum((a / s) ** 2, torch.ones_like(a)) * (x_hat - pd_target(ab, z, z2, t, t2)) ** 2).mean()
        assert torch.allclose(loss(x0, noise, i, emb, g), want, rtol=1e-5)

def test_a_short_round_trains_a_copy(tiny):
    x, y, _, _ = get_mnist()
    data = distill_data(tiny, digits_to_images(x[:64]), y[:64])
    teacher = guided_student(tiny.unet, cond_dim=16)
    h = weights_hash(teacher)
    student, losses = distill_halve(teacher, tiny, data, 2, steps=3, bs=4, progress=False)
    assert len(losses) == 3 and weights_hash(teacher) == h and weights_hash(student) != h
    with pytest.raises(ValueError, match='teacher must take the guidance scale'): distill_halve(tiny.unet, tiny, data, 2, steps=1)
    with pytest.raises(ValueError, match='student_steps'): distill_halve(teacher, tiny, data, 0, steps=1)

def test_save_student_is_a_loadable_diffusers_folder(tiny, tmp_path):
    s = guided_student(tiny.unet, cond_dim=16)
    out = save_student(tiny, s, tmp_path/'s2', steps=2, log=dict(note='test'))
    assert sorted(p.name for p in tmp_path.iterdir()) == ['s2']   # no temporary folder left behind
    c = load_components(out)
    assert type(c.scheduler).__name__ == 'DDIMScheduler' and c.scheduler.config.timestep_spacing == 'trailing'
    assert c.info['distilled_steps'] == 2 and c.info['note'] == 'test' and c.unet.config.time_cond_proj_dim == 16
    from diffusers import StableDiffusionPipeline
    pipe = StableDiffusionPipeline.from_pretrained(out)   # no torch_dtype: every part in float32, so it samples
    assert {pipe.unet.dtype, pipe.vae.dtype, pipe.text_encoder.dtype} == {torch.float32}
    assert pipe('a handwritten digit three', num_inference_steps=2, output_type='latent').images.shape == (1, 4, 8, 8)

def test_distill_leaves_the_user_s_files_and_refuses_a_fresh_start_over_them(tmp_path, folder):
    "A whole (very short) run of a teacher of grey digits beside a file of the user's in OUT/checkpoints: the file stays, ours go"
    ck = tmp_path/'checkpoints'
    ck.mkdir()
    (ck/'resnet-epoch90.pt').write_bytes(b'weeks of training')
    log = distill(tmp_path, folder, guided_steps=2, round_steps=2, start_steps=2, final_steps=1, bs=4, progress=False,
                  command='the command')
    assert log['world'] == 'digits'   # told by the teacher's picture size
    assert set(log['minutes']) == {'guided', '2->1'} and (tmp_path/'student-1'/'model_index.json').exists()
    assert json.loads((tmp_path/'student-1'/'training_log.json').read_text())['command'] == 'the command'
    assert sorted(p.name for p in ck.iterdir()) == ['resnet-epoch90.pt']
    with pytest.raises(FileExistsError, match=r'fit did not write \(resnet-epoch90.pt\)'):
        distill(tmp_path, folder, guided_steps=2, round_steps=2, start_steps=2, final_steps=1, bs=4, fresh=True,
                progress=False)
    assert (ck/'resnet-epoch90.pt').read_bytes() == b'weeks of training'

def test_distill_takes_the_scene_data_for_a_teacher_of_scenes(tmp_path, monkeypatch):
    "The default model draws scenes: distill draws its training data from scenes unless told otherwise"
    import miniai.distill as d
    class Drawn(Exception): pass
    def data(kind):
        def draw(c, *a, **k): raise Drawn(kind)
        return draw
    monkeypatch.setattr(d, 'scene_distill_data', data('scenes'))
    monkeypatch.setattr(d, 'distill_data', data('digits'))
    with pytest.raises(Drawn, match='scenes'): d.distill(tmp_path/'a')
    with pytest.raises(Drawn, match='digits'): d.distill(tmp_path/'b', world='digits')

def test_distill_checks_its_arguments(tmp_path):
    with pytest.raises(ValueError, match='start_steps must be a power of two'): distill(tmp_path, start_steps=6)
    with pytest.raises(ValueError, match='final_steps'): distill(tmp_path, start_steps=8, final_steps=8)
    r = subprocess.run([sys.executable, '-m', 'miniai.distill'], capture_output=True, text=True)
    assert r.returncode == 2 and '--out is required' in r.stderr and 'Traceback' not in r.stderr

def test_embedded_models_and_their_own_schedulers(student4):
    assert embedded_models()[0] == 'scene-sd' and 'digits-4step' in embedded_models()
    assert type(student4.scheduler).__name__ == 'DDIMScheduler' and student4.scheduler.config.timestep_spacing == 'trailing'
    assert student4.info['distilled_steps'] == 4 and student4.unet.config.time_cond_proj_dim is not None
    assert type(load_components().scheduler).__name__ == 'LMSDiscreteScheduler'                   # the teacher's own, as before
    assert type(load_components('digits-4step', scheduler='euler').scheduler).__name__ == 'EulerDiscreteScheduler'   # asked for

def test_shipped_student_equals_diffusers(student4):
    from diffusers import StableDiffusionPipeline
    pipe = StableDiffusionPipeline.from_pretrained(assets_dir()/'digits-4step', safety_checker=None,
                                                   requires_safety_checker=False)   # no torch_dtype needed
    pipe.set_progress_bar_config(disable=True)
    prompts = [digit_prompt(3), digit_prompt(7)]
    for g in (1.0, 7.5):
        noise = rand_like(torch.empty(2, 4, 8, 16), 30)
        ours = generate_latents(student4, prompts, steps=4, guidance_scale=g, latents=noise, progress=False)
        theirs = pipe(prompts, num_inference_steps=4, guidance_scale=g, latents=noise, output_type='latent').images
        assert (ours - theirs).abs().max() <= 1e-4, g

def test_student_makes_one_call_per_step_without_doubling(student4):
    calls = []
    hook = student4.unet.register_forward_pre_hook(lambda m, args, kwargs: calls.append((args[0].shape[0], kwargs.get('timestep_cond') is not None)), with_kwargs=True)
    try: generate_latents(student4, [digit_prompt(1)] * 3, steps=4, guidance_scale=7.5, seed=0, progress=False)
    finally: hook.remove()
    assert calls == [(3, True)] * 4

def test_student_bad_input(student4):
    p = [digit_prompt(2)]
    for kw, name in ((dict(negative_prompt='x'), 'negative_prompt'), (dict(guidance=cfg_rescale_pred), 'guidance'),
                     (dict(guidance_rescale=0.7), 'guidance_rescale')):
        with pytest.raises(ValueError, match=name): generate_latents(student4, p, steps=4, **kw)
    with pytest.warns(UserWarning, match='distilled to sample in 4 steps'): generate_latents(student4, p, steps=8, progress=False)
    with pytest.warns(UserWarning, match='outside the range'): generate_latents(student4, p, steps=4, guidance_scale=20, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        generate_latents(student4, p, steps=4, guidance_scale=3, progress=False)   # as trained: no warning

def test_bfloat16_on_the_cpu_is_a_working_option(student4):
    "load_components(dtype=torch.bfloat16) on the CPU: the same digits as float32, to within bfloat16's precision, and images out"
    from miniai.sampling import generate
    bf = load_components('digits-4step', dtype=torch.bfloat16)
    assert bf.unet.dtype == bf.vae.dtype == bf.text_encoder.dtype == torch.bfloat16 and bf.device.type == 'cpu'
    prompts, noise = [digit_prompt(d) for d in (0, 3, 5, 8)], rand_like(torch.empty(4, 4, 8, 16), 40)
    full = generate_latents(student4, prompts, steps=4, latents=noise, progress=False)
    half = generate_latents(bf, prompts, steps=4, latents=noise, progress=False)
    assert half.dtype == torch.bfloat16
    rel = ((half.float() - full).norm() / full.norm()).item()
    assert rel < 0.05, rel   # bfloat16 keeps 8 bits of mantissa: a few per cent at most; another digit would be ~100%
    assert [im.size for im in generate(bf, prompts[:2], steps=4, seed=0, progress=False)] == [(64, 32)] * 2

def test_sample_command_uses_the_student(tmp_path):
    out = tmp_path/'g.png'
    r = subprocess.run([sys.executable, '-m', 'miniai.stable_diffusion', 'a handwritten digit five', '--model', 'digits-4step', '--steps', '4', '--n', '2', '--out', str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.exists() and 'wrote' in r.stdout

def test_the_wheel_carries_every_embedded_model(tmp_path):
    "Build the wheel from a copy of the project (nothing written into the repository) and look inside"
    import shutil
    root, src = assets_dir().parent.parent, tmp_path/'src'
    shutil.copytree(root/'miniai', src/'miniai', ignore=shutil.ignore_patterns('__pycache__'))
    for f in ('pyproject.toml', 'README.md', 'LICENSE'):
        if (root/f).exists(): shutil.copy(root/f, src/f)
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', str(tmp_path/'dist'), str(src)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    names = zipfile.ZipFile(next((tmp_path/'dist').glob('miniai-*.whl'))).namelist()
    for m in embedded_models():
        for f in ('model_index.json', 'unet/diffusion_pytorch_model.safetensors', 'vae/diffusion_pytorch_model.safetensors',
                  'text_encoder/model.safetensors', 'tokenizer/tokenizer.json', 'scheduler/scheduler_config.json', 'training_log.json'):
            assert f'miniai/assets/{m}/{f}' in names, (m, f)

def tiny_scene_model(scheduler):
    "Untrained miniature components of the colour scenes' shape (32x64 images, 8x16 latents)"
    from miniai.miniature import byte_tokenizer, tiny_models
    from miniai.train_tiny import SCENE_LATENT
    tok = byte_tokenizer()
    parts = tiny_models(tok, 0, dim=32, unet_channels=(32, 64), vae_channels=(32, 64, 64), groups=8, latent_size=SCENE_LATENT)
    return components_from_parts(dict(tokenizer=tok, **parts), scheduler=scheduler)

def test_scene_teacher_data_draws_fresh_captions_and_distils():
    "A teacher of the colour scenes: 8x16 latents of scenes, captions drawn per batch and embedded, the same recipe"
    from miniai.distill import scene_distill_data, draw_latents_and_text, distill_guidance
    from miniai.train_tiny import SCENE_LATENT
    c = tiny_scene_model('ddim')
    data = scene_distill_data(c, n_scenes=32)
    x0, emb = draw_latents_and_text(data, torch.Generator().manual_seed(0), 6)
    assert x0.shape == (6, 4, *SCENE_LATENT) and emb.shape == (6, 77, 32) and not emb.requires_grad
    assert len({e.sum().item() for e in emb}) > 1                              # each latent its own caption
    again = draw_latents_and_text(data, torch.Generator().manual_seed(0), 6)
    assert torch.equal(x0, again[0]) and torch.equal(emb, again[1])             # the generator decides it all
    h = weights_hash(c.unet)
    student, losses = distill_guidance(c, data, steps=2, bs=4, progress=False)
    assert len(losses) == 2 and all(l == l for l in losses) and weights_hash(c.unet) == h

def test_distill_refuses_an_unknown_world(tmp_path):
    with pytest.raises(ValueError, match="world must be 'digits', 'scenes' or None"): distill(tmp_path/'d', world='colour')
    assert not (tmp_path/"d").exists()

def test_scene_student_bench_runs_on_a_tiny_colour_teacher(tmp_path, capsys):
    "bench_scene_distill: three rows of the scene measures (teacher at 30 and 4 steps, student at 4) and the speed"
    from miniai.distill import guided_student
    from miniai.distill_bench import bench_scene_distill
    c = tiny_scene_model('lms')
    diffusers_pipeline(c).save_pretrained(tmp_path/'teacher')
    save_student(c, guided_student(c.unet), tmp_path/'student', steps=4)
    res = bench_scene_distill(tmp_path/'student', tmp_path/'teacher', n=2, batch=2, repeats=1)
    out = capsys.readouterr().out
    assert list(res['rows']) == ['teacher, 30 LMS', 'teacher, 4 DDIM', 'student, 4 DDIM'] and res['speedup_vs_diffusers'] > 0
    assert all(name in out for name in res['rows']) and 'two digits' in out and "diffusers' pipeline" in out
