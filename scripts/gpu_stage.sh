#!/usr/bin/env bash
# Stage what scripts/gpu_check.sh needs on a GPU machine that has torch/transformers but cannot
# download anything: wheels of the missing pure-Python packages, a copy of this checkout (with the
# built JS bundles) and SmolLM2-135M's config + tokenizer (no weights: the benchmark builds a
# random-init model of that shape there). Nothing here is needed to build, test or use the package.
#
#   usage, from the repo root: scripts/gpu_stage.sh STAGE     (STAGE: a git-ignored folder that
#   travels to the GPU machine, e.g. .gpu with `echo /.gpu/ >> .git/info/exclude`)
# then on the GPU machine, from the folder STAGE sits in: bash STAGE/tree/scripts/gpu_check.sh STAGE
set -euo pipefail
stage=${1:?usage: scripts/gpu_stage.sh STAGE}
py=${PYTHON:-python3}
mkdir -p "$stage/whl" "$stage/smollm2"
rm -rf "$stage/tree" && mkdir -p "$stage/tree"

# Wheels: what the conformance suite and the benchmark import that the GPU image (torch 2.11,
# transformers 5.17, numpy, pandas, einops, jaxtyping, accelerate, pyarrow, xxhash, fsspec, psutil,
# pygments, pytest, …) lacks. transformer_lens 4 imports datasets (dill, multiprocess) at import
# time; anywidget needs ipywidgets → IPython and their pure-Python dependencies. --no-deps: only
# these, one version each, for CPython 3.12 on x86-64.
"$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d "$stage/whl" \
  transformer-lens==4.3.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 \
  beartype==0.23.1 fancy-einsum==0.0.3 typeguard==4.6.1 \
  anywidget==0.11.0 psygnal==0.16.1 ipywidgets==8.1.9 traitlets==5.16.1 comm==0.2.3 \
  widgetsnbextension==4.0.16 jupyterlab_widgets==3.0.17 \
  ipython==9.18.1 ipython_pygments_lexers==1.1.1 jedi==0.20.1 parso==0.8.7 matplotlib-inline==0.2.2 \
  pexpect==4.9.0 ptyprocess==0.7.0 prompt_toolkit==3.0.53 wcwidth==0.9.4 stack-data==0.6.3 \
  executing==2.3.0 asttokens==3.0.2 pure_eval==0.2.4

# This checkout: tracked and untracked-not-ignored files, plus the built bundles (git-ignored).
git ls-files -z -co --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$stage/tree"
mkdir -p "$stage/tree/src/induction_widgets/static"
cp src/induction_widgets/static/*.js "$stage/tree/src/induction_widgets/static/"

# SmolLM2-135M's config and tokenizer, from the converted cache that iw.load_model("smollm2") fills.
cache=$(ls -d "${XDG_CACHE_HOME:-$HOME/.cache}"/induction_widgets/smollm2/*/ | head -1)
for f in config.json tokenizer.json tokenizer_config.json chat_template.jinja generation_config.json; do
  [ -f "$cache/$f" ] && cp "$cache/$f" "$stage/smollm2/"
done
du -sh "$stage"/*
