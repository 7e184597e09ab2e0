"The scene CLIP: its tokenizer, its preprocessing, its loss against transformers', its batches, training, and the shipped model."
import json, subprocess, sys
import numpy as np, pytest, torch
from miniai.clip import (train_bpe, make_tokenizer, clip_tokenizer, clip_image_processor, scene_pixels, clip_config,
                         tokenize, clip_batch, caption_meaning, perturb, ContrastiveLoss, embed_scenes, embed_captions, binding,
                         swapped_captions, complete_caption, partial_captions, zero_shot_digits, clip_score, train_clip, clip_dir,
                         embedded_clips, load_clip, CLIP_NAME)
from miniai.clip_parts import _twin
from miniai.miniature import captions, WORDS
from miniai.scenes import scenes, scenes_tensor, HELD_OUT, INKS, BACKGROUNDS

@pytest.fixture(scope='module')
def tok(): return clip_tokenizer()

@pytest.fixture(scope='module')
def untrained(tok):
    from transformers import CLIPModel
    torch.manual_seed(0)
    return CLIPModel(clip_config(len(tok))).eval()

def test_bpe_merges_most_frequent_pair_first():
    merges = train_bpe(['aab aab aab ab'], n_merges=3)
    assert merges[0] == ('a', 'b</w>')          # 'a b</w>' occurs 4 times, 'a a' 3 times
    assert train_bpe(['aab aab aab ab'], 3) == merges   # deterministic

def test_tokenizer_words_are_single_tokens(tok):
    digit_tok = make_tokenizer([c for d in range(10) for c in captions(d)])
    for w in WORDS + ['handwritten', 'digit', 'number']:
        ids = digit_tok(w).input_ids
        assert len(ids) == 3, (w, digit_tok.convert_ids_to_tokens(ids))
    assert len(digit_tok('zebra').input_ids) > 3          # unknown words fall back to characters
    assert digit_tok.model_max_length == 77
    for w in WORDS + list(BACKGROUNDS) + ['left', 'right', 'background', 'handwritten', 'digit', 'an']:
        assert len(tok(w).input_ids) == 3, w

def test_processor_reproduces_the_training_input():
    "The saved preprocessing: rows doubled to 64x64 (no crop: both slots whole), in [-1, 1], as scene_pixels does"
    sc = scenes(6, seed=3)
    theirs = clip_image_processor()(images=[s.image for s in sc], return_tensors='pt').pixel_values
    ours = scene_pixels(scenes_tensor([s.image for s in sc]))
    assert theirs.shape == (6, 3, 64, 64)
    torch.testing.assert_close(theirs, ours, rtol=0, atol=1e-6)
    torch.testing.assert_close(ours[:, :, ::2], ours[:, :, 1::2])
    torch.testing.assert_close(ours[:, :, ::2], scenes_tensor([s.image for s in sc]).float() / 127.5 - 1)

def test_loss_equals_transformers_clip_loss(tok, untrained):
    sc = scenes(8, seed=2)
    pixels = scene_pixels(scenes_tensor([s.image for s in sc]))
    ids, mask = tokenize(tok, [s.caption for s in sc])
    with torch.no_grad():
        theirs = untrained(input_ids=ids, attention_mask=mask, pixel_values=pixels, return_loss=True).loss
        ours = ContrastiveLoss(untrained)(pixels, ids, mask)
        ours_none_same = ContrastiveLoss(untrained)(pixels, ids, mask, torch.zeros(8, 8, dtype=torch.bool))
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ours_none_same, theirs, rtol=1e-5, atol=1e-6)

def test_tokenize_pads_with_the_end_token(tok):
    ids, mask = tokenize(tok, ['a seven', 'a red seven on the left'])
    assert ids.shape == mask.shape and mask[0].sum() == 4 and mask[1].all()
    assert (ids[0, 4:] == tok.pad_token_id).all() and tok.pad_token_id == tok.eos_token_id

def test_batches_mark_same_captions_and_twins_differ_in_one_thing(tok):
    pixels, ids, mask, same = clip_batch(torch.Generator().manual_seed(0), tok, bs=64, p_drop=0.5, hard_negatives=True)
    assert pixels.shape == (64, 3, 64, 64) and same.shape == (64, 64)
    assert not same.diagonal().any() and (same == same.T).all()
    equal = (ids[:, None] == ids[None]).all(-1) & ~torch.eye(64, dtype=torch.bool)
    assert (same | ~equal).all() and same.any()          # the same caption is always 'same'
    assert all((pixels[i] != pixels[i + 1]).any() for i in range(0, 64, 2))   # a twin is another picture
    again = clip_batch(torch.Generator().manual_seed(0), tok, bs=64, p_drop=0.5, hard_negatives=True)
    assert (again[0] == pixels).all() and (again[1] == ids).all()              # deterministic per generator

def test_caption_meaning_ignores_order_only_without_positions():
    assert caption_meaning('a red seven and a blue two') == caption_meaning('a blue two and a red seven')
    assert caption_meaning('a red seven on the left and a blue two on the right, on a black background') != \
        caption_meaning('a blue two on the left and a red seven on the right, on a black background')
    assert caption_meaning('a seven and a two on an orange background') == ('orange', ('a seven', 'a two'))
    assert caption_meaning('a handwritten digit seven') == (None, ('a handwritten digit seven',))

def test_twins_change_one_thing_and_never_hold_a_held_out_pair():
    import random
    rng, sc = random.Random(0), scenes(400, seed=4)
    for s in sc:
        new, bg, idx = _twin(s.slots, s.background, [0, 1], rng, 'train')
        assert sum(d is not None for d in new) == sum(d is not None for d in s.slots)
        assert (new, bg) != (s.slots, s.background) and not any(d in HELD_OUT for d in new if d)
        assert all(d is None or d[1] != bg for d in new)
        changed = sum(a != b for a, b in zip(new, s.slots)) + (bg != s.background)
        assert 1 <= changed <= 2, (s.slots, new)   # swaps change both slots; everything else one thing

def test_swapped_captions_and_measures(tok, untrained):
    s = next(s for s in scenes(50, seed=4, split='valid') if all(s.slots) and s.slots[0] != s.slots[1])
    swapped = swapped_captions(s.slots, s.background)
    true = complete_caption(s.slots, s.background)
    assert true not in swapped.values() and 'ink_changed' in swapped and 'background_changed' in swapped
    assert sorted(true.split()) == sorted(swapped['slots_swapped'].split())   # the same bag of words
    sc = scenes(60, seed=1, split='valid')
    b, p = binding(untrained, tok, sc), partial_captions(untrained, tok, sc)
    assert set(b) >= {'inks_swapped', 'digits_swapped', 'all'} and all(0 <= v <= 1 for v in b.values())
    assert set(p) == {'ink', 'digit', 'handwritten', 'background'}
    assert 0 <= zero_shot_digits(untrained, tok, sc) <= 1
    score = clip_score(untrained, tok, [x.image for x in sc[:4]], [x.caption for x in sc[:4]])
    assert 0 <= score <= 100
    with pytest.raises(ValueError, match='images and texts'): clip_score(untrained, tok, [sc[0].image], [])

def test_train_clip_writes_a_standard_folder_and_refuses_to_overwrite(tmp_path):
    from transformers import CLIPModel, CLIPProcessor, CLIPTextModel
    log = train_clip(tmp_path/'c', steps=4, bs=8, hard_negatives=True, checkpoint_every=2, progress=False, n_measure=20)
    assert log['steps'] == 4 and [c['step'] for c in log['curve']] == [2, 4] and 'binding' in log['measures']
    files = {p.name for p in (tmp_path/'c').iterdir()}
    assert {'config.json', 'model.safetensors', 'preprocessor_config.json', 'tokenizer.json',
            'training_log.json'} <= files and 'checkpoints' not in files and 'training_curve.json' not in files
    model, processor = CLIPModel.from_pretrained(tmp_path/'c'), CLIPProcessor.from_pretrained(tmp_path/'c')
    assert CLIPTextModel.from_pretrained(tmp_path/'c').config.hidden_size == model.config.text_config.hidden_size
    with pytest.raises(FileExistsError, match='already holds a finished run'):
        train_clip(tmp_path/'c', steps=4, bs=8, progress=False, n_measure=20)

@pytest.mark.parametrize('kw, name', [(dict(steps=0), 'steps'), (dict(p_drop=1.5), 'p_drop'), (dict(lr=0), 'lr'),
                                      (dict(bs=2.5), 'bs'), (dict(n_measure=1), 'n_measure')])
def test_train_clip_bad_input_is_refused_before_any_work(tmp_path, kw, name):
    with pytest.raises((ValueError, TypeError), match=name): train_clip(tmp_path/'c', **kw)
    assert not (tmp_path/'c').exists()

def test_cli_needs_out():
    r = subprocess.run([sys.executable, '-m', 'miniai.clip'], capture_output=True, text=True)
    assert r.returncode == 2 and '--out' in r.stderr

def test_shipped_clip_loads_with_transformers_and_binds():
    "The embedded CLIP: transformers' classes load it, its processor gives our input, and it meets the binding target"
    from transformers import CLIPModel, CLIPProcessor
    assert CLIP_NAME in embedded_clips()
    folder = clip_dir()
    model, processor = CLIPModel.from_pretrained(folder).eval(), CLIPProcessor.from_pretrained(folder)
    sc = scenes(8, seed=9, split='valid')
    inputs = processor(text=[s.caption for s in sc], images=[s.image for s in sc], return_tensors='pt', padding=True)
    with torch.no_grad(): theirs = model(**inputs).logits_per_image
    ours = model.logit_scale.exp() * embed_scenes(model, [s.image for s in sc]) @ embed_captions(model, processor.tokenizer, [s.caption for s in sc]).T
    torch.testing.assert_close(theirs, ours, rtol=1e-4, atol=1e-4)
    assert (theirs.argmax(1) == torch.arange(8)).float().mean() >= 0.75
    log = json.loads((folder/'training_log.json').read_text())
    assert log['measures']['binding']['all'] >= 0.9 and log['minutes'] <= 20
    assert log['measures']['zero_shot_digit'] >= 0.7   # measured 75.7%: a guard, the issue sets no target
    assert binding(model, processor.tokenizer, scenes(200, seed=11, split='valid'))['all'] >= 0.85
    with pytest.raises(ValueError, match='name must be one of'): load_clip('no-such-clip')
