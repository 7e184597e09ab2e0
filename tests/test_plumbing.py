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
