"The colour world (03b_scenes): scenes of real digits, their captions, and the rules they keep."
import random, re
import numpy as np, pytest, torch
from miniai.scenes import (scenes, caption, draw_layout, digit_pool, render, PALETTE, INKS, BACKGROUNDS, HELD_OUT,
                           SLOTS, Scene)
from miniai.miniature import WORDS

DIGIT = '(' + '|'.join(WORDS) + ')'
COLOUR = '(' + '|'.join(INKS) + ')'
GRAMMAR = re.compile(rf"(a handwritten digit {DIGIT})|((an? ({COLOUR} )?{DIGIT}( on the (left|right))?)"
                     rf"( and an? ({COLOUR} )?{DIGIT}( on the (left|right))?)?(,? on an? ({'|'.join(BACKGROUNDS)}) background)?)")

def test_api_and_determinism():
    a, b = scenes(50, seed=4), scenes(50, seed=4)
    assert all(isinstance(s, Scene) for s in a) and [s.caption for s in a] == [s.caption for s in b]
    assert all(x.image.tobytes() == y.image.tobytes() for x, y in zip(a, b))
    assert a[0].image.size == (64, 32) and a[0].image.mode == 'RGB'
    assert [s.caption for s in scenes(50, seed=5)] != [s.caption for s in a]
    assert scenes(0) == []
    with pytest.raises(ValueError, match="split must be 'train' or 'valid'"): scenes(2, split='test')
    with pytest.raises(ValueError, match='n must be an int >= 0'): scenes(-1)

def test_every_caption_is_in_the_grammar_and_names_every_digit():
    for s in scenes(2000, seed=1):
        assert GRAMMAR.fullmatch(s.caption), s.caption
        named = re.findall(DIGIT, s.caption)
        assert sorted(named) == sorted(WORDS[d] for d, _ in filter(None, s.slots)), (s.caption, s.slots)
        for colour, word in re.findall(rf"{COLOUR} {DIGIT}", s.caption):   # what a caption says is true
            assert (WORDS.index(word), colour) in s.slots, (s.caption, s.slots)
        for slot, d in zip(SLOTS, s.slots):
            if d and 'on the' in s.caption: assert f"{WORDS[d[0]]} on the {slot}" in s.caption, s.caption
        if 'background' in s.caption: assert f" {s.background} background" in s.caption

def test_the_scene_is_what_its_attributes_say():
    for s in scenes(200, seed=2):
        px = np.asarray(s.image).reshape(-1, 3)
        colours, counts = np.unique(px, axis=0, return_counts=True)
        assert tuple(colours[counts.argmax()]) == PALETTE[s.background]            # the background dominates
        for k, d in enumerate(s.slots):
            part = np.asarray(s.image)[:, 32 * k:32 * (k + 1)].reshape(-1, 3)
            if d is None: assert (part == PALETTE[s.background]).all()              # an empty slot is background
            else:
                far = part[np.abs(part.astype(int) - PALETTE[s.background]).sum(1).argmax()]   # the most inky pixel
                assert np.abs(far.astype(int) - PALETTE[d[1]]).max() < 40, (s.caption, k, far)
                assert d[1] != s.background

def test_held_out_pairs_only_in_validation_and_split_digits():
    train = [d for s in scenes(3000, seed=0) for d in s.slots if d]
    assert not set(train) & set(HELD_OUT)
    valid = [d for s in scenes(3000, seed=0, split='valid') for d in s.slots if d]
    assert set(valid) & set(HELD_OUT)
    tp, vp = digit_pool('train')[0], digit_pool('valid')[0]
    assert not (tp.flatten(1)[:, None] == vp.flatten(1)[None, :50]).all(-1).any()   # no validation digit in training

def test_dropout_leaves_attributes_out_and_keeps_full_captions():
    rng = random.Random(0)
    full = ((7, 'red'), (2, 'blue'))
    caps = [caption(full, 'yellow', rng) for _ in range(400)]
    assert 'a red seven on the left and a blue two on the right, on a yellow background' in caps
    assert any('background' not in c for c in caps) and any('left' not in c for c in caps)
    assert any('red' not in c for c in caps) and all('seven' in c and 'two' in c for c in caps)
    one = [caption(((8, 'orange'), None), 'black', rng) for _ in range(400)]
    assert 'a handwritten digit eight' in one and 'an orange eight' in one and 'an eight' in one

def test_scenes_tensor_is_what_render_drew():
    from miniai.scenes import scenes_tensor
    sc = scenes(5, seed=8)
    x = scenes_tensor([s.image for s in sc])
    assert x.shape == (5, 3, 32, 64) and x.dtype == torch.uint8
    assert (x[0].permute(1, 2, 0).numpy() == np.asarray(sc[0].image)).all()
    assert scenes_tensor(x) is x   # a tensor of scenes already: itself
    with pytest.raises(ValueError, match=r'images must be PIL scenes or an \(n, 3, 32, 64\) uint8 tensor, got torch.float32'):
        scenes_tensor(x.float())
    with pytest.raises(ValueError, match=r'got torch.uint8 \(5, 3, 32, 32\)'): scenes_tensor(x[..., :32])

def test_scene_of_draws_the_scene_asked_for():
    from miniai.scenes import scene_of, SIDE
    s = scene_of(((3, 'red'), (3, 'blue')), 'yellow', k=2)
    assert s.slots == ((3, 'red'), (3, 'blue')) and s.background == 'yellow' and s.image.size == (2 * SIDE, SIDE)
    assert s.caption == 'a red three on the left and a blue three on the right, on a yellow background'
    pool, labels = digit_pool('valid')
    threes = pool[labels == 3]
    x = np.asarray(scene_of(((3, 'white'), (3, 'white')), 'black', k=2).image)[..., 0]
    assert np.array_equal(x[:, :SIDE], (threes[2] * 255).round().byte().numpy())    # the k-th three on the left,
    assert np.array_equal(x[:, SIDE:], (threes[3] * 255).round().byte().numpy())    # another writer's on the right
    assert scene_of((None, (5, 'green')), 'white').image.getpixel((5, 5)) == PALETTE['white']   # an empty slot: background

@pytest.mark.parametrize('slots, background, msg', [(((3, 'red'),), 'black', 'slots must be (left, right)'),
                                                    ((None, None), 'black', 'slots must be (left, right)'),
                                                    (((12, 'red'), None), 'black', 'each slot must be None or'),
                                                    (((3, 'teal'), None), 'black', 'each slot must be None or'),
                                                    (((3, 'red'), None), 'teal', 'background must be one of'),
                                                    (((3, 'red'), None), 'red', "and no slot's ink")])
def test_scene_of_bad_input(slots, background, msg):
    from miniai.scenes import scene_of
    with pytest.raises(ValueError, match=re.escape(msg)): scene_of(slots, background)
