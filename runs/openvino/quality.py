"""python runs/openvino/quality.py [N]: the judge's shares and slot FID of each engine's pictures
(09b_openvino's `engine_quality`), N prompts of each kind (default 50). Needs `pip install "miniai[openvino]"`."""
import sys, torch
from miniai.perf import components_for, cpu_name
from miniai.openvino_peer import openvino_components, engine_quality
torch.set_num_threads(2)
n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
print(f"CPU: {cpu_name()}; torch {torch.__version__}, {torch.get_num_threads()} threads")
c = components_for('embedded', 'cpu')
b = components_for('embedded', 'cpu', torch.bfloat16)
engine_quality({'ours eager f32': (c, False), 'ours compiled f32': (c, True),
                'openvino f32': (openvino_components(c, 10, 'f32'), False),
                'ours compiled bf16': (b, True),
                'openvino bf16': (openvino_components(c, 10, 'bf16'), False)}, n=n)
