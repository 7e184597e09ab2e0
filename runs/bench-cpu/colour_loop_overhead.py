"""What our loop adds around the colour model's compiled UNet: 30 guided steps of `generate_latents(compile=True)`
(batch 10, float32) against 30 calls of the compiled UNet alone on the same shapes, in alternation.
Run from the repository root: python runs/bench-cpu/colour_loop_overhead.py"""
import time, statistics as st, torch
from miniai.loading import load_components
from miniai.sampling import generate_latents, encode_prompts
from miniai.perf import compiled_unet

c = load_components()
prompts, steps = ['a red 3 on the left and a blue 1 on the right, on a yellow background'] * 10, 30
kw = dict(steps=steps, seed=0, progress=False, compile=True)
generate_latents(c, prompts, **kw)   # compiles
unet, emb, x = compiled_unet(c.unet), torch.cat(encode_prompts(c, prompts)), torch.randn(20, 4, 8, 16)
def unet_alone():
    for _ in range(steps): unet(x, torch.tensor(500), encoder_hidden_states=emb)
loop, alone = [], []
with torch.inference_mode():
    for _ in range(8):
        t0 = time.perf_counter(); generate_latents(c, prompts, **kw); loop.append(time.perf_counter() - t0)
        t0 = time.perf_counter(); unet_alone(); alone.append(time.perf_counter() - t0)
ms = lambda v: 1000 * st.median(v) / steps
print(f'the loop: {ms(loop):.2f} ms a step; the compiled UNet alone: {ms(alone):.2f} ms a call (medians of 8 runs)')
print(f'the loop around it: {ms(loop) - ms(alone):.2f} ms a step, {(ms(loop) - ms(alone)) / ms(loop):.1%} of the step')
