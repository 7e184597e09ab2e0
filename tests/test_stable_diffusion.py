"The old home of the sampler (04d_stable_diffusion): every name it documented still imports from it, as the same object."
import importlib, subprocess, sys
import miniai.stable_diffusion as sd

def test_reexports_are_the_home_modules_objects():
    homes = [importlib.import_module(f'miniai.{m}') for m in ('data', 'rng', 'plumbing', 'sampler_inputs', 'sampling',
                                                                     'miniature', 'loading', 'cli')]
    for name in sd.__all__:
        home = [m for m in homes if name in m.__all__]
        assert len(home) == 1, (name, [m.__name__ for m in home])
        assert getattr(sd, name) is getattr(home[0], name), name

def test_readme_imports_still_work():
    from miniai.stable_diffusion import load_components, generate, generate_latents, decode  # noqa: F401

def test_python_m_still_runs_the_command():
    r = subprocess.run([sys.executable, '-m', 'miniai.stable_diffusion', '--help'], capture_output=True, text=True)
    assert r.returncode == 0 and '--steps' in r.stdout, r.stderr
