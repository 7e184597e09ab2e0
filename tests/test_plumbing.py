"The one door out (03a): every command that writes a folder refuses what it did not write, builds beside, renames into place, survives a kill."
import json, os, signal, subprocess, sys, textwrap
from pathlib import Path
import pytest
from miniai.plumbing import OutputFolder, MANIFEST, check_out

def user_files(folder, names):
    "The user's files, by `names` (a/b makes a folder a), each holding its own name; returns their contents"
    for n in names:
        (folder/n).parent.mkdir(parents=True, exist_ok=True)
        if n.endswith('/'): (folder/n).mkdir(exist_ok=True)
        else: (folder/n).write_text(f'mine: {n}')
    return snapshot(folder)

def snapshot(folder):
    return {p.relative_to(folder).as_posix(): p.read_text() if p.is_file() else None for p in sorted(folder.rglob('*'))}

@pytest.mark.parametrize('bad', [None, '', '   '])
def test_an_empty_or_missing_out_is_refused(bad):
    with pytest.raises(ValueError, match='out is required'): OutputFolder(bad, by='test')

def test_a_tilde_is_the_home_folder():
    assert check_out('~/x') == Path.home()/'x'

def test_refuses_what_it_did_not_write_and_names_it(tmp_path):
    before = user_files(tmp_path, ['.saving/draft.txt', 'config.json'])
    with pytest.raises(FileExistsError, match=r'\.saving, \.saving/draft\.txt, config\.json'):
        OutputFolder(tmp_path, by='test', fresh=True)
    assert snapshot(tmp_path) == before

def test_a_file_inside_its_own_folder_is_the_users(tmp_path):
    door = OutputFolder(tmp_path/'o', by='test')
    with door.entries() as tmp: (tmp/'unet').mkdir(); (tmp/'unet'/'w.bin').write_text('w')
    door.finish()
    (tmp_path/'o'/'unet'/'notes.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='unet/notes.txt'): OutputFolder(tmp_path/'o', by='test', fresh=True)
    assert (tmp_path/'o'/'unet'/'notes.txt').read_text() == 'mine'

def test_finished_needs_fresh_and_fresh_clears_only_its_own(tmp_path):
    door = OutputFolder(tmp_path/'o', by='test')
    door.write_text('a.txt', 'a'); door.finish()
    (tmp_path/'o'/'checkpoints').mkdir()   # kept by fit, which checks and clears its own
    (tmp_path/'o'/'checkpoints'/'x').write_text('fit')
    with pytest.raises(FileExistsError, match='already holds a finished run of test'): OutputFolder(tmp_path/'o', by='test')
    OutputFolder(tmp_path/'o', by='test', fresh=True).clear()
    assert sorted(p.name for p in (tmp_path/'o').iterdir()) == [MANIFEST, 'checkpoints']

def test_an_entry_that_appears_meanwhile_is_not_replaced(tmp_path):
    door = OutputFolder(tmp_path, by='test')
    (tmp_path/'log.json').write_text('mine')
    with pytest.raises(FileExistsError, match='not written by test'): door.write_text('log.json', 'ours')
    assert (tmp_path/'log.json').read_text() == 'mine' and door.foreign() == ['log.json']

def test_writes_through_a_link_to_a_folder(tmp_path):
    (tmp_path/'real').mkdir()
    (tmp_path/'link').symlink_to(tmp_path/'real')
    OutputFolder(tmp_path/'link', by='test').write_text('a.txt', 'a')
    assert (tmp_path/'link').is_symlink() and (tmp_path/'real'/'a.txt').read_text() == 'a'

def test_a_file_is_written_through_its_link(tmp_path):
    from PIL import Image
    from miniai.cli import save_image
    target, link = tmp_path/'elsewhere.png', tmp_path/'link.png'
    Image.new('RGB', (2, 2)).save(target)
    link.symlink_to(target)
    save_image(Image.new('RGB', (3, 3), 'red'), link)
    assert link.is_symlink() and Image.open(target).size == (3, 3)

def test_miniai_data_expands_the_home_folder(monkeypatch):
    from miniai.data import _default_path
    monkeypatch.setenv('MINIAI_DATA', '~/mydata')
    assert _default_path() == Path.home()/'mydata'

KILL = '''
import os, signal, sys
from miniai.plumbing import OutputFolder
point, n = sys.argv[2], [0]
door = OutputFolder(sys.argv[1], by='test', fresh=True)
real = os.replace
def replace(a, b):
    n[0] += 1
    if point == f'replace-{n[0]}': os.kill(os.getpid(), signal.SIGKILL)
    real(a, b)
os.replace = replace
with door.entries(last=('index.json',)) as tmp:
    (tmp/'unet').mkdir(); (tmp/'unet'/'w.bin').write_text('new')
    (tmp/'index.json').write_text('new')
    if point == 'building': os.kill(os.getpid(), signal.SIGKILL)
door.write_text('log.json', 'new')
'''

@pytest.mark.parametrize('point', ['building', 'replace-1', 'replace-2', 'replace-3', 'replace-5', 'replace-7'])
def test_a_kill_at_any_point_leaves_old_or_new_and_nothing_unknown(tmp_path, point):
    out = tmp_path/'o'
    door = OutputFolder(out, by='test')
    with door.entries() as tmp:
        (tmp/'unet').mkdir(); (tmp/'unet'/'w.bin').write_text('old'); (tmp/'index.json').write_text('old')
    door.write_text('log.json', 'old')
    r = subprocess.run([sys.executable, '-c', KILL, str(out), point], capture_output=True, text=True)
    assert r.returncode == -signal.SIGKILL, r.stderr
    for f in ('unet/w.bin', 'index.json', 'log.json'): assert (out/f).read_text() in ('old', 'new'), f
    again = OutputFolder(out, by='test', fresh=True)   # what the kill left is known, not the user's
    again.write_text('log.json', 'again')
    assert again.foreign() == [] and not [p for p in out.rglob('.miniai-part*')]

def test_commands_refuse_a_folder_of_the_users_before_any_work(tmp_path):
    "clip, distill and train_tiny (both worlds), each against a folder holding the user's files by the names they write"
    from miniai.clip import train_clip
    from miniai.distill import distill
    from miniai.train_tiny import train_tiny, train_scene_sd
    cases = [(train_clip, ['.saving/draft.txt', 'config.json', 'training_curve.json']),
             (distill, ['student-4/notes.txt', 'distill_log.json']),
             (train_tiny, ['checkpoints.txt', 'training_loss.png']),
             (train_scene_sd, ['unet/notes.txt', 'training_loss.png'])]
    for f, names in cases:
        folder = tmp_path/f.__name__
        folder.mkdir()
        before = user_files(folder, names)
        for fresh in (False, True):
            with pytest.raises(FileExistsError, match='did not write'): f(folder, fresh=fresh)
        assert snapshot(folder) == before, f.__name__

@pytest.mark.parametrize('module', ['miniai.clip', 'miniai.distill', 'miniai.train_tiny'])
def test_commands_refuse_an_empty_out(tmp_path, module):
    r = subprocess.run([sys.executable, '-m', module, '--out', ''], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2 and '--out' in r.stderr and list(tmp_path.iterdir()) == []

# --- the newer code as careful with bad input as the older (#47)

def test_a_compiled_model_follows_its_weights():
    "In place (under no_grad) and by assignment: rebuilt, so it agrees with eager again"
    import torch
    from miniai.perf import freezing_compiled
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8)).eval()
    x = torch.randn(2, 8)
    with torch.no_grad():
        torch.testing.assert_close(freezing_compiled(m)(x), m(x))
        for p in m.parameters(): p.mul_(2)
        torch.testing.assert_close(freezing_compiled(m)(x), m(x))
        m[0].weight = torch.nn.Parameter(torch.randn(8, 8))
        torch.testing.assert_close(freezing_compiled(m)(x), m(x))

def test_bfloat16_warns_on_a_cpu_without_it(monkeypatch):
    import warnings, torch
    from miniai import loading
    monkeypatch.setattr(loading, 'cpu_bf16', lambda: False)
    loading._warn_slow_bf16.cache_clear()
    with pytest.warns(UserWarning, match='without native bfloat16.*14x slower'):
        loading._check_device('cpu', torch.bfloat16)
    assert loading._check_device('cpu', 'fastest')[1] == torch.float32
    monkeypatch.setattr(loading, 'cpu_bf16', lambda: True)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert loading._check_device('cpu', 'fastest')[1] == torch.bfloat16
    with pytest.raises(ValueError, match='dtype must be torch.float32, torch.bfloat16 or torch.float16, got torch.int8'):
        loading._check_device('cpu', torch.int8)

def test_diffedit_defaults_follow_the_model(c):
    from miniai.loading import load_components
    from miniai.diffedit import diffedit_defaults, DIFFEDIT, SCENE_DIFFEDIT
    assert diffedit_defaults(load_components()) == SCENE_DIFFEDIT and diffedit_defaults(c) == DIFFEDIT

def test_diffedit_refuses_a_composite_that_is_not_a_bool(c):
    from PIL import Image
    from miniai.diffedit import diffedit
    with pytest.raises(TypeError, match="composite must be True or False, got 'false'"):
        diffedit(c, Image.new('RGB', (16, 16)), 'a', 'b', composite='false')

@pytest.mark.parametrize('kw, match', [
    (dict(slots=({'digit': 1, 'ink': 'red'}, None)), 'each slot must be None or'),
    (dict(slots=((3, 'red'), None), k=-1), 'k must be an int >= 0'),
    (dict(slots=((3, 'red'), None), k=10**6), 'k must be below'),
    (dict(slots=((3, 'red'), None), k=None), 'k must be an int'),
])
def test_scene_of_names_the_bad_argument(kw, match):
    from miniai.scenes import scene_of
    with pytest.raises(ValueError, match=match): scene_of(**kw)

@pytest.mark.parametrize('seed', [2**64, 1.5, -1])
def test_scenes_names_a_bad_seed(seed):
    from miniai.scenes import scenes
    with pytest.raises(ValueError, match='seed must be an int'): scenes(2, seed=seed)

def test_reading_scenes_refuses_what_is_not_a_scene():
    import math
    from PIL import Image
    from miniai.evaluate import read_scenes, scene_scores, load_judge
    from miniai.scenes import scenes
    judge, sc = load_judge(), scenes(2, seed=0)
    with pytest.raises(ValueError, match='images must be scenes of 64x32, got 128x64'):
        read_scenes(judge, [sc[0].image.resize((128, 64))])
    with pytest.raises(ValueError, match='images is empty'): read_scenes(judge, [])
    for bad in (math.nan, -5):
        with pytest.raises(ValueError, match='min_ink must be in'): read_scenes(judge, [sc[0].image], min_ink=bad)
    with pytest.raises(ValueError, match='empty'): scene_scores([], [])

@pytest.mark.parametrize('size', [[8, 8, 8], [8], None, 0])
def test_a_bad_sample_size_is_named(c, size):
    import copy
    from miniai.sampling import native_size
    bad = copy.copy(c)
    bad.unet = copy.deepcopy(c.unet)
    bad.unet.register_to_config(sample_size=size)
    with pytest.raises(ValueError, match="sample_size must be a positive int or"): native_size(bad)

@pytest.mark.parametrize('kw, match', [(dict(steps=100_000), 'steps must be at most 1000'),
                                       (dict(guidance_scale=-2.0), 'guidance_scale must be >= 0')])
def test_sampling_bounds(c, kw, match):
    from miniai.sampling import generate_latents
    with pytest.raises(ValueError, match=match): generate_latents(c, ['a cat'], progress=False, **kw)

def test_distill_refuses_bad_sizes_before_any_work(tmp_path):
    from miniai.distill import distill
    for kw, name in [(dict(bs=0), 'bs'), (dict(guided_steps=0), 'guided_steps'), (dict(round_steps=-1), 'round_steps'),
                     (dict(checkpoint_every=0), 'checkpoint_every')]:
        with pytest.raises(ValueError, match=name): distill(tmp_path/'d', **kw)
    assert not (tmp_path/'d').exists()

def test_a_model_folder_that_is_not_one_is_a_bad_argument(tmp_path):
    r = subprocess.run([sys.executable, '-m', 'miniai.distill', '--out', str(tmp_path/'d'), '--model', str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and 'not in diffusers layout' in r.stderr

def test_init_from_a_student_is_refused(tmp_path):
    from miniai.loading import assets_dir
    from miniai.train_tiny import train_scene_sd
    with pytest.raises(ValueError, match='init_from: .* is not a colour model made by train_tiny'):
        train_scene_sd(tmp_path/'m', init_from=assets_dir()/'digits-4step')

def test_a_uniform_picture_has_no_background():
    "A grey picture is none of the backgrounds: read as None (it was read as purple), and a real scene still reads"
    from PIL import Image
    from miniai.evaluate import read_scenes, load_judge
    from miniai.scenes import scenes
    from miniai.clip import complete_caption
    judge, s = load_judge(), scenes(1, seed=0)[0]
    read = read_scenes(judge, [Image.new('RGB', (64, 32), (128, 128, 128)), s.image])
    assert read[0] == dict(slots=(None, None), background=None)
    assert read[1]['background'] == s.background
    assert complete_caption(((3, 'red'), None), None) == 'a red three on the left'

@pytest.mark.parametrize('bad, err', [(None, TypeError), (3, TypeError)])
def test_asked_names_a_caption_that_is_not_text(bad, err):
    from miniai.evaluate import asked
    with pytest.raises(err, match='text must be a scene caption'): asked(bad)

def test_a_damaged_judge_is_named(tmp_path):
    from miniai.evaluate import load_judge
    (tmp_path/'model.safetensors').write_bytes(b'not weights' * 10)
    with pytest.raises(ValueError, match=r'folder: .*model.safetensors is not a judge'): load_judge(tmp_path)

@pytest.fixture(scope='module')
def clip_model():
    from miniai.clip import load_clip
    model, processor = load_clip()
    return model, processor.tokenizer

@pytest.mark.parametrize('call, err, match', [
    (lambda m, t: __import__('miniai.clip').clip.embed_scenes(m, []), ValueError, 'images is empty'),
    (lambda m, t: __import__('miniai.clip').clip.embed_captions(m, t, []), ValueError, 'texts is empty'),
    (lambda m, t: __import__('miniai.clip').clip.clip_score(m, t, [], []), ValueError, 'empty'),
    (lambda m, t: __import__('miniai.clip').clip.embed_captions(m, t, 'a red seven'), TypeError, 'texts must be a list'),
    (lambda m, t: __import__('miniai.clip').clip.embed_captions(m, t, [None]), TypeError, 'texts must be a list'),
    (lambda m, t: __import__('miniai.clip').clip.embed_captions(m, t, [' and '.join(['a red seven on the left'] * 20)]),
     ValueError, 'texts must be at most 77 tokens each, got 141')])
def test_clip_names_bad_captions_and_empty_lists(clip_model, call, err, match):
    with pytest.raises(err, match=match): call(*clip_model)

@pytest.mark.parametrize('edit', ['{}', 'no model_max_length'])
def test_a_tokenizer_without_a_length_is_refused_at_load(tmp_path, edit):
    "A tokenizer with no `model_max_length` pads to 10**30 tokens: refused when the model loads, not at sampling"
    import shutil
    from miniai.loading import assets_dir, load_components, ModelError
    shutil.copytree(assets_dir()/'scene-sd', tmp_path/'m')
    cfg = tmp_path/'m/tokenizer/tokenizer_config.json'
    d = json.loads(cfg.read_text())
    cfg.write_text('{}' if edit == '{}' else json.dumps({k: v for k, v in d.items() if k != 'model_max_length'}))
    with pytest.raises(ModelError, match='the tokenizer pads text to .* tokens but the text encoder reads at most 77'):
        load_components(tmp_path/'m')

def test_an_empty_checkpoint_dir_is_refused():
    import torch
    from miniai.training import fit
    with pytest.raises(ValueError, match='checkpoint_dir is required'):
        fit(torch.nn.Linear(1, 1), lambda g: (torch.zeros(1, 1),), 1, checkpoint_dir='')
    assert not list(Path('.').glob('checkpoint-*'))

def test_the_commands_bound_their_work(python_m, tmp_path):
    "More work than MAX_COMMAND_WORK is refused before it starts, naming --force"
    code, _, err = python_m('miniai.stable_diffusion', 'a red seven', '--n', '100000', '--steps', '30', '--out', tmp_path/'g.png')
    assert code == 2 and 'more than the 100,000,000 a command takes at once: pass --force' in err, err
    assert not (tmp_path/'g.png').exists()

def test_the_sketch_pad_refuses_a_huge_drawing_before_decoding_it(tmp_path, monkeypatch):
    import gradio as gr
    from PIL import Image
    from gradio.components.image_editor import EditorData
    from gradio.data_classes import FileData
    import miniai
    from miniai.app import bounded_sketchpad
    p = tmp_path/'huge.png'
    Image.new('1', (6000, 6000)).save(p)
    pad = bounded_sketchpad(type='pil')
    monkeypatch.setattr(Image.Image, 'load', lambda self: pytest.fail('the drawing was decoded'))
    with pytest.raises(gr.Error, match='sketch is 6000x6000, larger than the 2048x2048 allowed'):
        pad.preprocess(EditorData(background=None, layers=[], composite=FileData(path=str(p))))
    assert not list(Path(miniai.__file__).parent.glob('*.pyi'))   # Gradio wrote no stub into the package

def test_rounds_turn_the_order_and_alternate_is_rounds_of_two():
    from miniai.plumbing import rounds, alternate
    calls = []
    runs = {k: (lambda k=k: calls.append(k)) for k in 'abc'}
    res = rounds(runs, 3, 'cpu')
    assert ''.join(calls) == 'abcbcacab' and all(len(t) == len(m) == 3 for t, m in res.values())
    calls.clear()
    (ta, _), (tb, _) = alternate(runs['a'], runs['b'], 4, 'cpu')
    assert ''.join(calls) == 'abbaabba' and len(ta) == len(tb) == 4
