"The one training loop: resume bit for bit, survive SIGKILL and corrupt checkpoints, run as two processes."
import json, os, shutil, signal, subprocess, sys, textwrap, time
from pathlib import Path
import numpy as np, pytest, torch
from miniai.training import (fit, ToyRegressor, sine_data, batches_from, weights_hash, list_checkpoints, latest_checkpoint,
                             save_checkpoint, check_checkpoint, warmup_cosine, EMA, training_time)

KW = dict(lr=1e-2, warmup=20, ema_decay=0.99, progress=False)

def toy(steps=60, **kw):
    m = ToyRegressor()
    losses = fit(m, batches_from(*sine_data(), bs=32), steps, **{**KW, **kw})
    return m, losses

def test_fit_learns_and_returns_losses():
    m, losses = toy(200, ema_decay=None)
    assert len(losses) == 200 and np.mean(losses[-20:]) < 0.2 * np.mean(losses[:20])
    assert not m.training

def test_resume_is_bit_for_bit(tmp_path):
    full, _ = toy()
    first, _ = toy(checkpoint_dir=tmp_path, checkpoint_every=20)
    assert weights_hash(first) == weights_hash(full)
    assert [p.name for p in list_checkpoints(tmp_path)] == ['checkpoint-0000040', 'checkpoint-0000060']   # the last two
    shutil.rmtree(tmp_path/'checkpoint-0000060')                    # as if killed between step 40 and 60
    resumed, losses = toy(checkpoint_dir=tmp_path, checkpoint_every=20)
    assert weights_hash(resumed) == weights_hash(full) and len(losses) == 60

def test_the_clock_sums_the_loop_time_over_resumes(tmp_path):
    "Each checkpoint carries the loop's wall seconds so far; a resumed run adds to them, never starts them again"
    assert training_time(tmp_path) is None
    toy(checkpoint_dir=tmp_path, checkpoint_every=20)
    at = {p.name: torch.load(p/'state.pt', weights_only=True)['seconds'] for p in list_checkpoints(tmp_path)}
    whole = training_time(tmp_path)
    assert whole['timed_from'] == 0 and whole['step'] == 60 and whole['seconds'] > at['checkpoint-0000040'] > 0
    shutil.rmtree(tmp_path/'checkpoint-0000060')
    toy(checkpoint_dir=tmp_path, checkpoint_every=20)               # resumes at 40, then steps 41..60 again
    again = training_time(tmp_path)
    assert again['step'] == 60 and again['timed_from'] == 0 and again['seconds'] > at['checkpoint-0000040']

def test_finished_run_is_not_trained_again(tmp_path, capsys):
    a, la = toy(checkpoint_dir=tmp_path, checkpoint_every=30)
    b, lb = toy(checkpoint_dir=tmp_path, checkpoint_every=30)
    assert weights_hash(a) == weights_hash(b) and la == lb
    assert 'resumed from step 60' in capsys.readouterr().out

def test_corrupt_and_unfinished_checkpoints_are_skipped(tmp_path, capsys):
    full, _ = toy()
    toy(checkpoint_dir=tmp_path, checkpoint_every=20)
    newest = tmp_path/'checkpoint-0000060'/'model.safetensors'
    newest.write_bytes(newest.read_bytes()[:100])                    # truncated
    (tmp_path/'.tmp-checkpoint-0000080').mkdir()                    # a write that never finished
    resumed, _ = toy(checkpoint_dir=tmp_path, checkpoint_every=20)
    out = capsys.readouterr().out
    assert 'skipping checkpoint checkpoint-0000060: model.safetensors does not match' in out
    assert 'ignoring .tmp-checkpoint-0000080' in out and 'resumed from step 40' in out
    assert weights_hash(resumed) == weights_hash(full)

def test_checkpoint_without_manifest_is_not_loaded(tmp_path):
    p = save_checkpoint(tmp_path, 5, ToyRegressor(), dict(step=5))
    assert check_checkpoint(p) is None
    (p/'checkpoint.json').unlink()
    assert 'manifest' in check_checkpoint(p)
    assert latest_checkpoint(tmp_path, report=lambda *a: None) is None

def test_other_settings_are_refused_fresh_starts_over(tmp_path, capsys):
    toy(checkpoint_dir=tmp_path, checkpoint_every=30)
    with pytest.raises(ValueError, match='other settings.*steps: 60 there, 90 now'): toy(90, checkpoint_dir=tmp_path)
    m, losses = toy(90, checkpoint_dir=tmp_path, checkpoint_every=30, fresh=True)
    assert len(losses) == 90 and 'fresh start' in capsys.readouterr().out
    assert [p.name for p in list_checkpoints(tmp_path)] == ['checkpoint-0000060', 'checkpoint-0000090']

def test_gradient_accumulation_equals_one_big_batch():
    fixed = batches_from(*sine_data(), bs=64)(torch.Generator().manual_seed(1))
    calls = []
    def halves(g):
        calls.append(1)
        return tuple(t[:32] if len(calls) % 2 else t[32:] for t in fixed)
    whole, split = ToyRegressor(), ToyRegressor()
    fit(whole, lambda g: fixed, 5, progress=False)
    fit(split, halves, 5, grad_accum=2, progress=False)
    assert len(calls) == 10
    for a, b in zip(whole.parameters(), split.parameters()): torch.testing.assert_close(a, b, atol=1e-6, rtol=0)

def test_bf16_trains_and_leaves_the_model_unwrapped():
    m = ToyRegressor()
    forward = m.forward
    losses = fit(m, batches_from(*sine_data()), 150, lr=1e-2, warmup=20, mixed_precision='bf16', progress=False)
    assert np.mean(losses[-10:]) < 0.3 * np.mean(losses[:10])
    assert m.forward == forward and next(m.parameters()).dtype == torch.float32

def test_ema_and_schedule():
    f = warmup_cosine(1000, warmup=10)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0, abs=1e-3) and f(999) == pytest.approx(0, abs=1e-5)
    assert f(500) == pytest.approx(0.5, abs=2e-3)
    w = torch.nn.Parameter(torch.zeros(2)); e = EMA([w], 0.5)
    with torch.no_grad(): w.fill_(4.)
    e.update(); e.update()
    torch.testing.assert_close(e.shadow[0], torch.full((2,), 3.))
    e.copy_to(); torch.testing.assert_close(w.detach(), torch.full((2,), 3.))

@pytest.mark.parametrize('kw, match', [
    (dict(model=lambda *a: 0), 'model must be a torch.nn.Module'),
    (dict(draw=3), 'draw must be a function'),
    (dict(steps=0), 'steps must be an int >= 1'),
    (dict(steps=2.5), 'steps must be an int'),
    (dict(grad_accum=0), 'grad_accum must be an int >= 1'),
    (dict(lr=-1), 'lr must be a positive number'),
    (dict(mixed_precision='fp8'), 'mixed_precision must be one of'),
    (dict(ema_decay=1.5), 'ema_decay must be in'),
    (dict(grad_clip=0), 'grad_clip must be a positive'),
    (dict(checkpoint_every=0), 'checkpoint_every must be an int >= 1'),
])
def test_bad_arguments(kw, match):
    args = dict(model=ToyRegressor(), draw=batches_from(*sine_data()), steps=5)
    args.update(kw)
    with pytest.raises((TypeError, ValueError), match=match):
        fit(args.pop('model'), args.pop('draw'), args.pop('steps'), progress=False, **args)

def test_frozen_model_and_fp16_on_cpu_are_refused():
    m = ToyRegressor().requires_grad_(False)
    with pytest.raises(ValueError, match='no parameter that requires grad'): fit(m, batches_from(*sine_data()), 5)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="'fp16' needs a CUDA GPU"):
            fit(ToyRegressor(), batches_from(*sine_data()), 5, mixed_precision='fp16')

SLOW_RUN = textwrap.dedent('''
    import sys, time
    from miniai.training import fit, ToyRegressor, sine_data, batches_from, weights_hash
    draw = batches_from(*sine_data(), bs=32)
    def slow(g):
        time.sleep(0.01)
        return draw(g)
    m = ToyRegressor()
    fit(m, slow, 300, lr=1e-2, warmup=20, ema_decay=0.99, progress=False, checkpoint_dir=sys.argv[1], checkpoint_every=25)
    print(weights_hash(m))
''')

def test_sigkill_then_rerun_equals_uninterrupted(tmp_path):
    "A separate process killed with SIGKILL after its first checkpoint; the same command again finishes the run"
    script = tmp_path/'run.py'; script.write_text(SLOW_RUN)
    ck = tmp_path/'ck'
    proc = subprocess.Popen([sys.executable, str(script), str(ck)], stdout=subprocess.PIPE, text=True)
    t0 = time.time()
    while not (ck/'checkpoint-0000025').exists():
        assert proc.poll() is None and time.time() - t0 < 60, 'the run ended before its first checkpoint'
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL); proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done = [p.name for p in list_checkpoints(ck)]
    assert 'checkpoint-0000300' not in done, done                   # it really was interrupted
    r = subprocess.run([sys.executable, str(script), str(ck)], capture_output=True, text=True, check=True)
    assert 'resumed from step' in r.stdout
    full = ToyRegressor()
    fit(full, batches_from(*sine_data(), bs=32), 300, lr=1e-2, warmup=20, ema_decay=0.99, progress=False)
    assert r.stdout.strip().splitlines()[-1] == weights_hash(full)

AUDITED_RUN = textwrap.dedent('''
    import os, sys
    rank, root = os.environ['RANK'], os.path.realpath(sys.argv[1])
    def audit(event, args):
        "Print every write under the test folder: files opened for writing, folders made, renames and removals"
        if event == 'open':
            path, mode, flags = args
            writing = any(ch in mode for ch in 'wax+') if isinstance(mode, str) else bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            if not writing: return
        elif event in ('os.mkdir', 'os.rename', 'os.remove', 'shutil.rmtree'): path = args[0]
        else: return
        if isinstance(path, (str, os.PathLike)) and os.path.realpath(path).startswith(root):
            sys.stdout.write(f'WRITE rank={rank} {event} {path}\\n'); sys.stdout.flush()   # one write: lines of two ranks cannot interleave
    sys.addaudithook(audit)
    from accelerate import PartialState
    from miniai.training import fit, ToyRegressor, sine_data, batches_from, weights_hash
    m = ToyRegressor()
    fit(m, batches_from(*sine_data(), bs=16), 6, lr=1e-2, warmup=2, progress=False, checkpoint_dir=root + '/ck', checkpoint_every=3)
    st = PartialState()
    sys.stdout.write(f'RESULT {st.process_index}/{st.num_processes} {st.distributed_type} {weights_hash(m)}\\n'); sys.stdout.flush()
''')

def test_two_processes_agree_and_only_rank0_writes(tmp_path):
    "torchrun --nproc_per_node 2: a gloo MULTI_CPU run; both ranks end with the same weights; only rank 0 writes files"
    script = tmp_path/'audited.py'; script.write_text(AUDITED_RUN)
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', str(script), str(tmp_path)],
                       capture_output=True, text=True, timeout=300, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stderr[-2000:]
    results = sorted(l.split() for l in r.stdout.splitlines() if l.startswith('RESULT'))
    assert [x[1] for x in results] == ['0/2', '1/2'] and all('MULTI_CPU' in x[2] for x in results)
    assert results[0][3] == results[1][3]                            # identical weights on both ranks
    writes = [l for l in r.stdout.splitlines() if l.startswith('WRITE')]
    assert any('os.rename' in l for l in writes), writes             # the audit sees checkpoints being written...
    assert all('rank=0' in l for l in writes), writes                # ...and only by rank 0
    assert [p.name for p in list_checkpoints(tmp_path/'ck')] == ['checkpoint-0000003', 'checkpoint-0000006']
    meta = json.loads((tmp_path/'ck'/'checkpoint-0000006'/'checkpoint.json').read_text())['meta']
    assert meta['processes'] == 2

# --- nothing of the user's is ever deleted ---

def test_fresh_never_deletes_what_fit_did_not_write(tmp_path):
    "A checkpoint folder that is also a project folder: fit writes beside the user's files; a fresh start refuses"
    (tmp_path/'train.py').write_text('mine')
    (tmp_path/'data').mkdir(); (tmp_path/'data'/'x.csv').write_text('1')
    (tmp_path/'checkpoint-1.pt').write_bytes(b'theirs')            # named like ours, but not ours
    toy(checkpoint_dir=tmp_path, checkpoint_every=20)
    assert [p.name for p in list_checkpoints(tmp_path)] == ['checkpoint-0000040', 'checkpoint-0000060']
    with pytest.raises(FileExistsError, match=r'fit did not write \(checkpoint-1.pt, data, train.py\)'):
        toy(checkpoint_dir=tmp_path, fresh=True)
    assert (tmp_path/'train.py').read_text() == 'mine' and (tmp_path/'data'/'x.csv').exists()
    assert (tmp_path/'checkpoint-1.pt').read_bytes() == b'theirs' and len(list_checkpoints(tmp_path)) == 2

def test_fresh_removes_fit_s_own_and_the_folder(tmp_path):
    from miniai.training import clear_checkpoints
    ck = tmp_path/'ck'
    toy(checkpoint_dir=ck, checkpoint_every=20)
    (ck/'.tmp-checkpoint-0000080').mkdir()
    assert clear_checkpoints(ck) == [] and not ck.exists()

def crashing(after):
    "A batch source that raises after `after` batches, as a run killed mid-way"
    draw, calls = batches_from(*sine_data(), bs=32), []
    def f(g):
        calls.append(1)
        if len(calls) > after: raise RuntimeError('crash')
        return draw(g)
    return f

def test_damaged_checkpoints_are_set_aside_not_counted(tmp_path):
    "The newest two damaged: the run starts over, and its first new checkpoint survives the next crash"
    full, _ = toy()
    toy(checkpoint_dir=tmp_path, checkpoint_every=20)
    for s in (40, 60):
        f = tmp_path/f'checkpoint-{s:07d}'/'model.safetensors'
        f.write_bytes(f.read_bytes()[:100])
    with pytest.warns(UserWarning, match='checkpoint-0000040 is damaged'), pytest.raises(RuntimeError, match='crash'):
        fit(ToyRegressor(), crashing(30), 60, checkpoint_dir=tmp_path, checkpoint_every=20, **KW)
    assert [p.name for p in list_checkpoints(tmp_path)] == ['checkpoint-0000020']
    assert sorted(p.name for p in tmp_path.glob('corrupt-*')) == ['corrupt-checkpoint-0000040', 'corrupt-checkpoint-0000060']
    resumed, _ = toy(checkpoint_dir=tmp_path, checkpoint_every=20)
    assert weights_hash(resumed) == weights_hash(full)

# --- python -m miniai.training: one line and exit status 2 for a bad argument, 130 for Ctrl-C ---

def run_training(*args, **kw):
    return subprocess.run([sys.executable, '-m', 'miniai.training', *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, 'OMP_NUM_THREADS': '1'}, **kw)

@pytest.mark.parametrize('args, message', [
    (['--steps', '0'], 'steps must be an int >= 1, got 0'),
    (['--checkpoint-dir', 'FILE'], 'is a file'),
])
def test_cli_bad_arguments_are_one_line(tmp_path, python_m, args, message):
    (tmp_path/'FILE').write_text('x')
    code, _, err = python_m('miniai.training', *[str(tmp_path/a) if a == 'FILE' else a for a in args])
    assert code == 2 and message in err and 'Traceback' not in err and len(err.strip().splitlines()) == 1, err

@pytest.mark.parametrize('kwargs, message', [
    (dict(bs=0), 'bs must be an int >= 1, got 0'),
    (dict(mixed_precision='fp8'), "mixed_precision must be one of ('no', 'bf16', 'fp16'), got 'fp8'"),
])
def test_cli_more_bad_arguments_in_process(capsys, kwargs, message):
    "The same command called in-process (no second start of Python): one line, exit status 2"
    import miniai.training as tr
    with pytest.raises(SystemExit) as e: tr.training_cli(steps=5, **kwargs)
    err = capsys.readouterr().err
    assert e.value.code == 2 and message in err and len(err.strip().splitlines()) == 1, err

def test_cli_resume_with_another_batch_size_is_refused(tmp_path):
    assert run_training('--steps', '10', '--bs', '16', '--checkpoint-dir', tmp_path).returncode == 0
    r = run_training('--steps', '10', '--bs', '32', '--checkpoint-dir', tmp_path)
    assert r.returncode == 2 and 'bs: 16 there, 32 now' in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_cli_ctrl_c_is_one_line_and_130(tmp_path, sigint_default):
    proc = subprocess.Popen([sys.executable, '-m', 'miniai.training', '--steps', '1000000', '--checkpoint-dir',
                             str(tmp_path), '--checkpoint-every', '20'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, 'OMP_NUM_THREADS': '1'},
                            preexec_fn=sigint_default)
    t0 = time.time()
    while not list_checkpoints(tmp_path):
        assert proc.poll() is None and time.time() - t0 < 60, proc.stderr.read()
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    try: _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:   # a second Ctrl-C, as a user would press it
        proc.send_signal(signal.SIGINT)
        try: _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired: proc.kill(); _, err = proc.communicate()
        err = 'after a second SIGINT:\n' + err   # whatever the run printed, to tell where the first one went
    lines = err.replace('\r', '\n').strip().splitlines()
    assert proc.returncode == 130 and lines[-1] == 'python -m miniai.training: interrupted', lines[-40:]
    assert 'Traceback' not in err and not err.startswith('after'), [l for l in lines if 'fit:' not in l][-40:]

def test_cli_read_only_folder_and_full_disk_are_one_line(tmp_path, monkeypatch, capsys):
    "In-process, so that root (who may write anywhere) sees them too: a folder it cannot write in, and a full disk"
    import errno
    import miniai.training as tr
    monkeypatch.setattr(tr.os, 'access', lambda *a, **k: False)
    with pytest.raises(SystemExit) as e: tr.training_cli(steps=5, checkpoint_dir=str(tmp_path/'ck'))
    assert e.value.code == 2 and 'cannot write in' in capsys.readouterr().err
    monkeypatch.undo()
    def full(*a, **k): raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(tr, 'save_checkpoint', full)
    with pytest.raises(SystemExit) as e: tr.training_cli(steps=5, checkpoint_dir=str(tmp_path/'ck'), checkpoint_every=5)
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]   # after the progress bar
    assert e.value.code == 1 and last == 'python -m miniai.training: error: [Errno 28] No space left on device'
    assert 'Traceback' not in err

def test_measure_every_sees_the_ema_weights_and_fit_keeps_training_the_live_ones():
    "measure_every measures the model with the EMA's weights in it; afterwards the live weights are back, unchanged"
    from miniai.training import fit, measure_every, ToyRegressor, sine_data, batches_from, EMA
    model, (x, y) = ToyRegressor(), sine_data()
    seen = []
    callback, curve = measure_every(5, 10, lambda: seen.append([p.detach().clone() for p in model.parameters()])
                                    or dict(n=len(seen)))
    ema = EMA(model.parameters(), 0.5)
    with torch.no_grad():
        for p in model.parameters(): p.add_(1.0)            # live weights now differ from the average
    live = [p.detach().clone() for p in model.parameters()]
    callback(4, 0.0, ema)
    assert all(torch.equal(a, s) for a, s in zip(seen[0], ema.shadow))              # measured: the EMA's
    assert all(torch.equal(a, p) for a, p in zip(live, model.parameters()))        # then the live ones again
    fit(model, batches_from(x, y), 10, lr=1e-2, warmup=2, progress=False, ema_decay=0.9, callback=callback)
    assert [c['step'] for c in curve] == [5, 10]
