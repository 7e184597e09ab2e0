"""The colour model's UNet (batch 20, 8x16 latents, float32) compiled with freezing as `compiled_unet` does it, and
the same with inductor's max-autotune (it times ATen's and its own C++ GEMM templates for each matrix product and
keeps the faster). Timed in alternation."""
import time, statistics as st, torch
from miniai.loading import load_components
from miniai.perf import FrozenCompiled

class Autotuned(FrozenCompiled):
    "`FrozenCompiled` with mode='max-autotune-no-cudagraphs'"
    def __init__(self, module):
        super().__init__(module)
        self.compiled = torch.compile(module, mode='max-autotune-no-cudagraphs')

c = load_components()
unet = c.unet.eval()
torch.manual_seed(0)
x, t = torch.randn(20, unet.config.in_channels, 8, 16), torch.tensor(500)
emb = torch.randn(20, c.tokenizer.model_max_length, c.text_encoder.config.hidden_size)
call = lambda f: f(x, t, encoder_hidden_states=emb).sample
with torch.inference_mode():
    eager = call(unet)
    default, tuned = FrozenCompiled(unet), Autotuned(unet)
    for name, f in (('default', default), ('max-autotune', tuned)):
        t0 = time.time(); out = call(f)
        print(f'{name}: compiled in {time.time() - t0:.1f} s, max |compiled - eager| {(out - eager).abs().max():.1e}')
    times = {'default': [], 'max-autotune': []}
    for _ in range(15):
        for name, f in (('default', default), ('max-autotune', tuned)):
            t0 = time.perf_counter(); call(f); times[name].append(time.perf_counter() - t0)
    for name, v in times.items(): print(f'{name}: {1000 * st.median(v):.1f} ms a call (median of 15)')
    ratio = st.median([a / d for a, d in zip(times['max-autotune'], times['default'])])
    print(f'max-autotune / default, median of pairs: {ratio:.3f}')
