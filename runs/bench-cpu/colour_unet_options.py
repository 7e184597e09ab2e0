"""The colour model's UNet (batch 20, 8x16 latents, float32) as `compiled_unet` compiles it (freezing, the C++
wrapper, the text padded to 80 tokens), against two more settings: inductor's linear layers without MKL's
prepacked weights (`cpp.weight_prepack=False`), and dynamo told to skip its guards on the built-in modules
(`torch.compiler.skip_guard_on_inbuilt_nn_modules_unsafe`). Each on its own copy of the UNet, so that each
compiles; timed in alternation. Run from the repository root: python runs/bench-cpu/colour_unet_options.py"""
import copy, time, statistics as st, torch
from miniai.loading import load_components
from miniai.perf import FrozenCompiled, TextKeysPadded, compiled_unet

class Unguarded(FrozenCompiled):
    "`FrozenCompiled` whose dynamo skips the guards on built-in modules (Linear, Conv2d, ...)"
    def __init__(self, module):
        super().__init__(module)
        self.compiled = torch.compile(module, options={'guard_filter_fn':
                                                       torch.compiler.skip_guard_on_inbuilt_nn_modules_unsafe})

def variant(cls=FrozenCompiled, **settings):
    "A copy of the UNet, its text padded, compiled by `cls` with inductor `settings` added"
    f = cls(TextKeysPadded(copy.deepcopy(c.unet)))
    f.settings.update(settings)
    return f

c = load_components()
torch.manual_seed(0)
x, t = torch.randn(20, c.unet.config.in_channels, 8, 16), torch.tensor(500)
emb = torch.randn(20, c.tokenizer.model_max_length, c.text_encoder.config.hidden_size)
call = lambda f: f(x, t, encoder_hidden_states=emb).sample
with torch.inference_mode():
    eager = call(c.unet)
    kinds = {'compiled_unet': compiled_unet(c.unet), 'no weight prepack': variant(**{'cpp.weight_prepack': False}),
             'guards on built-in modules skipped': variant(Unguarded)}
    for name, f in kinds.items():
        t0 = time.time(); out = call(f)
        print(f'{name}: compiled in {time.time() - t0:.1f} s, max |compiled - eager| {(out - eager).abs().max():.1e}')
    times = {name: [] for name in kinds}
    for i in range(30):
        for name, f in (kinds.items() if i % 2 else reversed(kinds.items())):
            t0 = time.perf_counter(); call(f); times[name].append(time.perf_counter() - t0)
    for name, v in times.items():
        ratio = st.median([a / b for a, b in zip(v, times['compiled_unet'])])
        print(f'{name}: {1000 * st.median(v):.1f} ms a call (median of 30), / compiled_unet {ratio:.3f}')
