import math
import numpy as np, pytest, torch
from PIL import Image
from miniai.clip import complete_caption
from miniai.diffedit import DiffEditSettings, SCENE_DIFFEDIT, DIFFEDIT
from miniai.evaluate import load_judge
from miniai.scenes import INKS, BACKGROUNDS, SIDE, render
from miniai.scene_edits import (slot_edits, background_edits, edited_contents, reference, true_region, ink_maps,
                                scene_edit_measures, scene_editor_measures, scene_edit_table, show_scene_edit_table,
                                scene_edit_sweep, two_digit_scenes)

@pytest.fixture(scope='module')
def judge(): return load_judge()

def recoloured(e):
    "An ink or background edit done by hand: the scene's own ink amounts drawn again in the new colours"
    (slots, bg), a = edited_contents(e), ink_maps([e.scene.image])
    inks = torch.tensor([[INKS.index(i) for _, i in slots]])
    x = render(a.view(1, SIDE, 2, SIDE).transpose(1, 2), torch.ones(1, 2, dtype=torch.bool), inks,
               torch.tensor([BACKGROUNDS.index(bg)]))
    return Image.fromarray(x[0].permute(1, 2, 0).numpy())

def test_slot_edits_change_one_thing_of_one_slot():
    edits = slot_edits(8, seed=1)
    assert [(e.slot, e.kind) for e in edits[:4]] == [(0, 'digit'), (1, 'digit'), (0, 'ink'), (1, 'ink')]
    for e in edits:
        s, k = e.scene, e.slot
        assert all(s.slots) and e.new != s.slots[k] and e.new[1] != s.background
        assert e.new[e.kind == 'digit'] == s.slots[k][e.kind == 'digit']          # the other attribute is the same
        assert e.query == complete_caption(tuple(e.new if j == k else s.slots[j] for j in range(2)), s.background)
        assert reference(e) == complete_caption(s.slots, s.background) != e.query

def test_background_edits_change_the_background_to_a_colour_no_digit_has():
    edits = background_edits(6, seed=2)
    assert len(edits) == 6 and {e.kind for e in edits} == {'background'}
    for e in edits:
        assert e.new in BACKGROUNDS and e.new not in (e.scene.background, *(i for _, i in e.scene.slots))
        assert edited_contents(e) == (e.scene.slots, e.new) and e.query == complete_caption(e.scene.slots, e.new)
    assert {id(e.scene) for e in edits}.isdisjoint({id(s) for s in two_digit_scenes(6, seed=2)})

def test_true_region_is_the_edited_digit_or_everything_but_the_digits():
    slot, bg = slot_edits(2, seed=3)[1], background_edits(1, seed=3)[0]
    r = true_region(slot)
    assert r.shape == (SIDE, 2 * SIDE) and r[:, :SIDE].sum() == 0 and r[:, SIDE:].sum() >= 12   # slot 1: the right
    ink = ink_maps([bg.scene.image])[0] > 0.5
    assert torch.equal(true_region(bg), ~ink) and ink[:, :SIDE].any() and ink[:, SIDE:].any()

def test_measures_of_the_untouched_scene_and_of_a_recolouring_by_hand(judge):
    e = next(e for e in slot_edits(8, seed=4) if e.kind == 'ink')
    m = scene_edit_measures(judge, e, e.scene.image, mask=torch.zeros(8, 16))
    assert (m['target'], m['kept'], m['other_slot'], m['other_exact'], m['strokes'], m['outside']) == (0, 1, 0, 1, 0, 0)
    assert m['iou'] == m['coverage'] == 0
    for e in (e, background_edits(1, seed=4)[0]):
        m = scene_edit_measures(judge, e, recoloured(e), mask=torch.ones(8, 16))
        assert (m['target'], m['kept']) == (1, 1) and m['strokes'] < 0.02 and m['coverage'] == 1
        assert m['outside'] == 0                                        # nothing lies outside a full mask
        assert math.isnan(m['other_slot']) == (e.kind == 'background')

def test_a_digit_edit_measures_no_strokes(judge):
    e = slot_edits(1, seed=5)[0]
    assert e.kind == 'digit' and math.isnan(scene_edit_measures(judge, e, e.scene.image)['strokes'])

def test_settings_for_scenes_paste_back():
    assert DIFFEDIT.composite is False and SCENE_DIFFEDIT.composite is True
    assert isinstance(SCENE_DIFFEDIT, DiffEditSettings) and 0 < SCENE_DIFFEDIT.threshold < DIFFEDIT.threshold

def test_editor_measures_table_and_sweep_api(c, judge):
    edits = slot_edits(2, seed=6) + background_edits(1, seed=6)
    quick = DiffEditSettings(steps=4, n=2, threshold=0.2, composite=True)
    rows = scene_editor_measures(c, judge, edits, sdedit_strength=0.5, diffedit_settings=quick)
    assert len(rows) == 3 and set(rows[0]) == {'SDEdit', 'DiffEdit, latents kept', 'DiffEdit, pixels pasted back'}
    assert all(r['DiffEdit, pixels pasted back']['outside'] == 0 for r in rows)
    assert 'iou' not in rows[0]['SDEdit'] and 0 <= rows[0]['DiffEdit, latents kept']['coverage'] <= 1
    table = scene_edit_table(rows, edits)
    assert set(table) == {(k, ed) for k in ('one slot', 'background') for ed in rows[0]}
    assert table['one slot', 'SDEdit']['n'] == 2 and table['background', 'SDEdit']['n'] == 1
    assert all(0 <= t['success'] <= min(t['target'], t['kept']) for t in table.values())
    lines = []
    show_scene_edit_table(table, lines.append)
    assert len(lines) == 7 and 'success' in lines[0] and lines[1].split()[:3] == ['one', 'slot', 'SDEdit']
    lines = []
    strength, settings = scene_edit_sweep(c, judge, edits[:1], sweeps={'SDEdit': (0.5, 0.6), 'DiffEdit': ((0.5, 0.5),)},
                                          report=lines.append)
    assert strength in (0.5, 0.6) and (settings.strength, settings.threshold) == (0.5, 0.5) and settings.composite
    assert len(lines) == 1 and 'SDEdit 0.5:' in lines[0]

def test_success_needs_the_other_slot_unchanged_for_a_slot_edit():
    from miniai.scene_edits import succeeded, UNCHANGED
    slot = dict(target=1., kept=1., other_slot=UNCHANGED)
    assert succeeded(slot) == 1 and succeeded({**slot, 'other_slot': 2 * UNCHANGED}) == 0
    assert succeeded({**slot, 'kept': 0.}) == 0 and succeeded({**slot, 'target': 0.}) == 0
    assert succeeded(dict(target=1., kept=1., other_slot=float('nan'))) == 1       # a background edit
