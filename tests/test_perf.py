import pytest, torch
from miniai.perf import bench_sd, components_for, unet_flops_per_step, gpu_peak_tflops, timed

def test_bench_sd_tiny_agrees_and_reports(capsys):
    res = bench_sd('cpu', size='tiny', steps=3, batch=2, repeats=2, diffedit=False)
    out = capsys.readouterr().out
    assert res['max_abs_diff'] < 1e-4
    assert res['ours_s'] > 0 and res['diffusers_s'] > 0 and res['ratio_median'] > 0
    assert 'ratio ours/diffusers: median' in out and 'GFLOP' in out and 'memory' in out

def test_bench_diffedit_runs(capsys):
    res = bench_sd('cpu', size='tiny', steps=2, batch=1, repeats=2, diffedit=True)
    assert res['diffedit_ours_s'] > 0 and 'DiffEdit' in capsys.readouterr().out

def test_flops_scale_with_batch():
    c = components_for('tiny', 'cpu')
    f1, f2 = unet_flops_per_step(c, 1), unet_flops_per_step(c, 2)
    assert f1 > 0 and f2 == pytest.approx(2 * f1, rel=0.01)

def test_components_for_bad_size():
    with pytest.raises(ValueError, match="size must be"): components_for('huge', 'cpu')

def test_gpu_peak_lookup():
    assert gpu_peak_tflops('NVIDIA H100 80GB HBM3') == 989.4
    assert gpu_peak_tflops('NVIDIA H100 PCIe') == 756.0
    assert gpu_peak_tflops('Some Unknown GPU') is None

def test_timed_returns_result():
    r, t, m = timed(lambda: torch.ones(3).sum(), 'cpu')
    assert r == 3 and t >= 0 and m >= 0

def test_sd15_arch_counts_and_flops_on_meta():
    "SD v1.5's architecture from configs, on the meta device (no memory): parameter counts and FLOPs per step"
    from miniai.perf import sd15_components
    c = sd15_components('meta', torch.float16)
    n = lambda m: sum(p.numel() for p in m.parameters()) / 1e6
    assert 850 < n(c.unet) < 870 and 115 < n(c.text_encoder) < 130 and 80 < n(c.vae) < 90
    assert 1.5e12 < unet_flops_per_step(c, 1) < 1.7e12   # about 0.8 TFLOP per image per UNet call

def test_cpu_name_reads_the_model_and_its_bfloat16_instructions(tmp_path):
    from miniai.perf import cpu_name
    info = tmp_path / 'cpuinfo'
    info.write_text("processor\t: 0\nmodel name\t: Some CPU 9000\nflags\t\t: fpu avx512f amx_bf16 avx512_bf16\n\n"
                    "processor\t: 1\nmodel name\t: Some CPU 9000\n")
    assert cpu_name(info) == 'Some CPU 9000 (avx512_bf16, amx_bf16)'
    info.write_text("model name\t: Older CPU\nflags\t\t: fpu avx2\n")
    assert cpu_name(info) == 'Older CPU'
    assert isinstance(cpu_name(tmp_path / 'missing'), str) and cpu_name(tmp_path / 'missing')

def test_bfloat16_on_the_cpu_also_times_inductors_own_matrix_products():
    "Autotuning is asked for where it paid (bfloat16 on the CPU, 09b), silently, and nowhere else"
    import torch
    from miniai.perf import FreezingCompiled
    conv = lambda dtype: torch.nn.Conv2d(4, 4, 3).to(dtype)
    bf16, f32 = FreezingCompiled(conv(torch.bfloat16)).settings, FreezingCompiled(conv(torch.float32)).settings
    assert bf16['max_autotune'] and bf16['autotune_num_choices_displayed'] == 0 and bf16['freezing']
    assert 'max_autotune' not in f32 and f32['freezing'] and f32['cpp_wrapper']
