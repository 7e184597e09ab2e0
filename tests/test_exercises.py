"""The course's exercises (the course issue): each checker passes the notebook's own solution and fails at least one
wrong answer, in one printed line that says which case and what differs. The solutions here are the notebooks'."""
import copy, dataclasses, math
import pytest, torch
from miniai.data import check_answer, check_function, get_mnist
from miniai.matmul import check_matmul, check_normalise
from miniai.sampling import (check_negative_prompt, check_img2img, check_callback, embed_text, encode_prompts,
                             encode_image, denoise, start_step)
from miniai.diffedit import check_mask, check_ddim_move, check_keep_outside
from miniai.guidance import check_guidance, cfg_rescale_pred

def said(capsys, check, *args, **kwargs):
    "What a checker returned, and the one line it printed"
    capsys.readouterr()
    passed = check(*args, **kwargs)
    out = capsys.readouterr().out.strip()
    assert '\n' not in out, out
    return passed, out

def test_check_answer_says_where(capsys):
    assert said(capsys, check_answer, torch.tensor([[1., 2.], [3., 4.]]), torch.tensor([[1., 2.], [3., 4.5]]), 'x') == (
        False, 'x: at (1, 1) it is 4, expected 4.5')
    assert said(capsys, check_answer, [1, 2], torch.zeros(3), 'y') == (False, 'y: shape (2,), expected (3,)')
    assert said(capsys, check_answer, 'text', torch.zeros(3), 'z') == (False, 'z: a str, not a tensor')
    assert said(capsys, check_answer, torch.ones(2), torch.ones(2) + 1e-6) == (True, 'your answer: passed')

def test_check_function_names_the_case_and_the_error(capsys):
    cases = [((torch.ones(3),), torch.full((3,), 2.0)), ((torch.ones(2, 2),), torch.full((2, 2), 2.0))]
    assert said(capsys, check_function, lambda a: a * 2, cases, 'double') == (True, 'double: passed (2 cases)')
    assert said(capsys, check_function, lambda a: a * 2 if a.ndim == 1 else a, cases, 'double') == (
        False, 'double, case 2 of 2 ((2, 2)): at (0, 0) it is 1, expected 2')
    passed, out = said(capsys, check_function, lambda a: 1 / 0, cases, 'double')
    assert not passed and out == 'double, case 1 of 2 ((3,)): raised ZeroDivisionError: division by zero'
    with pytest.raises(TypeError, match='double must be a function, got int'): check_function(3, cases, 'double')

# 03: broadcasting

def test_matmul_exercise(capsys):
    assert said(capsys, check_matmul, lambda a, b: (a[:, :, None] * b[None]).sum(1)) == (True, 'your matmul: passed (3 cases)')
    passed, out = said(capsys, check_matmul, lambda a, b: a @ b.T)   # right on 1x1, wrong on the square case
    assert not passed and out.startswith('your matmul, case 2 of 3 ((4, 4), (4, 4)): at ')
    assert not said(capsys, check_matmul, lambda a, b: (a[:, :, None] * b[None]).sum(0))[0]

def test_normalise_exercise(capsys):
    assert said(capsys, check_normalise, lambda x: (x - x.mean(1, keepdim=True)) / x.std(1, keepdim=True))[0]
    passed, out = said(capsys, check_normalise, lambda x: (x - x.mean(1)) / x.std(1))   # the wrong axis
    assert not passed and 'case 1 of 3 ((3, 10)): raised RuntimeError' in out
    passed, out = said(capsys, check_normalise, lambda x: (x - x.mean()) / x.std())       # the whole batch at once
    assert not passed and 'case 1 of 3' in out

# 04: lesson 10's homework, on the tiny untrained model

def _fresh(c, steps):
    sch = copy.deepcopy(c.scheduler)
    sch.set_timesteps(steps)
    return dataclasses.replace(c, scheduler=sch), sch

def avoiding(c, prompt, negative_prompt, noise, steps):
    c, sch = _fresh(c, steps)
    both = torch.cat([embed_text(c, [negative_prompt]), embed_text(c, [prompt])])
    return denoise(c, noise * sch.init_noise_sigma, sch.timesteps, both, 7.5, do_classifier_free_guidance=True,
                   progress=False)

def test_negative_prompt_exercise(c, capsys):
    assert said(capsys, check_negative_prompt, avoiding, c) == (True, 'your negative prompt: passed (2 cases)')
    ignoring = lambda c, prompt, negative_prompt, noise, steps: avoiding(c, prompt, '', noise, steps)
    passed, out = said(capsys, check_negative_prompt, ignoring, c)
    assert not passed and out.startswith('your negative prompt, case 1 of 2 ((1, 4, 8, 8)): at ')

def img2img(c, prompt, image, strength, noise, steps, skip=0):
    c, sch = _fresh(c, steps)
    timesteps = sch.timesteps[start_step(steps, strength) + skip:]
    x = sch.add_noise(encode_image(c, image), noise, timesteps[:1])
    return denoise(c, x, timesteps, torch.cat(encode_prompts(c, [prompt])), 7.5, do_classifier_free_guidance=True,
                   progress=False)

def test_img2img_exercise(c, capsys):
    assert said(capsys, check_img2img, img2img, c) == (True, 'your image-to-image: passed (2 cases)')
    passed, out = said(capsys, check_img2img, lambda *a: img2img(*a, skip=1), c)   # one step late
    assert not passed and 'case 1 of 2' in out

def latents_every(c, prompt, noise, steps, every, first=1):
    c, sch = _fresh(c, steps)
    seen = []
    def keep(i, t, x):
        if (i + first) % every == 0: seen.append(x.clone())
    denoise(c, noise * sch.init_noise_sigma, sch.timesteps, torch.cat(encode_prompts(c, [prompt])), 7.5,
            do_classifier_free_guidance=True, callback=keep, progress=False)
    return seen

def test_callback_exercise(c, capsys):
    assert said(capsys, check_callback, latents_every, c) == (True, 'your callback: passed (3 cases)')
    passed, out = said(capsys, check_callback, lambda *a: latents_every(*a, first=0), c)   # steps counted from 0
    assert not passed and 'case 2 of 3' in out   # every step (case 1) is right either way

# 05: DiffEdit's three steps

def my_mask(eps_ref, eps_query, threshold):
    diff = (eps_query - eps_ref).abs().mean(dim=(0, 1))
    return (diff / diff.max() > threshold).float()

def test_mask_exercise(capsys):
    assert said(capsys, check_mask, my_mask) == (True, 'your mask: passed (3 cases)')
    no_rescaling = lambda r, q, th: ((q - r).abs().mean(dim=(0, 1)) > th).float()
    assert not said(capsys, check_mask, no_rescaling)[0]
    passed, out = said(capsys, check_mask, lambda r, q, th: my_mask(r[:, :1], q[:, :1], th))   # one channel
    assert not passed and out.startswith('your mask, case 1 of 3 ((1, 4, 4, 4), (1, 4, 4, 4)): at ')

def test_ddim_move_exercise(capsys):
    def move(x, eps, a, a_next):
        x0 = (x - (1 - a).sqrt() * eps) / a.sqrt()
        return a_next.sqrt() * x0 + (1 - a_next).sqrt() * eps
    assert said(capsys, check_ddim_move, move) == (True, 'your DDIM move: passed (3 cases)')
    without_roots = lambda x, eps, a, a_next: a_next * (x - (1 - a) * eps) / a + (1 - a_next) * eps
    passed, out = said(capsys, check_ddim_move, without_roots)
    assert not passed and out.startswith('your DDIM move, case 1 of 3')

def test_keep_outside_exercise(capsys):
    def keep_outside(enc, mask, offset=2):
        return lambda i, t, x: mask * x + (1 - mask) * enc[len(enc) - offset - i]
    assert said(capsys, check_keep_outside, keep_outside) == (True, 'your keep_outside: passed (5 cases)')
    passed, out = said(capsys, check_keep_outside, lambda enc, mask: keep_outside(enc, mask, offset=1))   # too noisy
    assert not passed and 'case 1 of 5' in out
    inverted = lambda enc, mask: lambda i, t, x: (1 - mask) * x + mask * enc[-2 - i]
    assert not said(capsys, check_keep_outside, inverted)[0]

# 10: a guidance variant of one's own, measured

def test_guidance_exercise(c, clf, capsys):
    xv = get_mnist()[2][:50]
    kw = dict(per_digit=1, steps=2)
    passed, out = said(capsys, check_guidance, cfg_rescale_pred, c, clf, xv, 1.0, **kw)
    assert passed and out.startswith('your guidance at 7.5: accuracy') and '; CFG: accuracy' in out
    assert said(capsys, check_guidance, lambda u, t, g: (u + g * (t - u))[:1], c, clf, xv, 1.0, **kw) == (
        False, 'your guidance: shape (1, 4, 8, 8), expected (3, 4, 8, 8)')
    passed, out = said(capsys, check_guidance, lambda u, t, g: u / 0 * 0, c, clf, xv, 1.0, **kw)
    assert not passed and out.startswith('your guidance: not finite at')
    with pytest.raises(TypeError, match='your_guidance must be a function'): check_guidance(None, c, clf, xv, 1.0)
