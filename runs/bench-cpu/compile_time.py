"""How long `compile=True` takes the first time in a process: the embedded model's UNet compiled with freezing (and
its wrapper in C++), in a process whose inductor cache is empty, then in a second process that finds it warm.
Run from the repository root: python runs/bench-cpu/compile_time.py"""
import os, subprocess, sys, tempfile, time

ONE_PROCESS = '''
import time, torch
from miniai.loading import load_components
from miniai.sampling import generate_latents
c = load_components()
kw = dict(steps=3, seed=0, progress=False)
t = time.perf_counter(); generate_latents(c, ['a handwritten digit seven'] * 10, compile=True, **kw)
first = time.perf_counter() - t
t = time.perf_counter(); generate_latents(c, ['a handwritten digit seven'] * 10, compile=True, **kw)
print(f"{first - (time.perf_counter() - t):.1f}")
'''

with tempfile.TemporaryDirectory() as cache:
    env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache, HF_HUB_OFFLINE='1')
    run = lambda: float(subprocess.run([sys.executable, '-c', ONE_PROCESS], env=env, capture_output=True, text=True,
                                       check=True).stdout.split()[-1])
    cold, warm = run(), run()
from miniai.perf import cpu_name
print(f"CPU: {cpu_name()}; compiling the embedded UNet (batch 20, float32), the first call's extra time:")
print(f"a process with an empty inductor cache: {cold:.1f} s; a second process, the cache warm: {warm:.1f} s")
