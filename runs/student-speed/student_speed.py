import torch
from miniai.loading import load_components
from miniai.distill_bench import _speed_vs_diffusers
torch.set_num_threads(2)
teacher = load_components()
s4 = load_components('digits-4step', dtype=torch.bfloat16)
print('float32 eager student:')
_speed_vs_diffusers(load_components('digits-4step'), teacher, 10, 3, 7.5, print)
print('bfloat16 compiled student:')
_speed_vs_diffusers(s4, teacher, 10, 3, 7.5, print, compile=True)
