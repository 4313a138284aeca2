"""Any CompressAI model as a codec: ``compressai:ARCH`` (the zoo's pretrained weights) or ``compressai:ARCH:PATH``.

- ``compressai:bmshj2018-hyperprior`` — qualities are the zoo's quality indices (1…8; 1…6 for the cheng2020
  models), ``--codec-option compressai.metric=ms-ssim`` for the MS-SSIM-trained set. The weights come through
  CompressAI's own table of URLs (``compressai.zoo.image.model_urls``) and are checked against the sha256 prefix
  its file names publish (torch.hub's check), then kept in ``<weights>/compressai/`` or the cache. Offline, the
  error names the file, the URL and where to place it.
- ``compressai:ARCH:FILE`` or ``compressai:ARCH:DIR`` — checkpoints as ``compressai/examples/train.py`` saves
  them (a dict with ``state_dict``, or a bare state dict), one file per quality in a directory (qualities 1…K in
  file-name order). Read with ``torch.load(weights_only=True)``: nothing but tensors and plain containers is
  unpickled, and anything else is refused. A checkpoint saved before ``update()`` (empty CDF tables) gets its
  tables computed here, and the codec's config (so the store's provenance and the report) says so.

Payload and decoding are ``learned:``'s (ipr_bench.learned.bitstream): a 6-byte header (format, quality, image size) and
CompressAI's entropy-coded strings, each with its LEB128 length; bpp counts all of it. Models run in float32:
a stream decodes bit-exactly in another process on the same kind of machine; across devices the float
scales of stock CompressAI models can differ (our own gained models code with float64 scales for that).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ipr_bench.core.errors import OptionError, UnavailableError
from ipr_bench.core.registry import register_codec

from .learned import LearnedCodec, _best_device

CHECKPOINT_SUFFIXES = (".pth.tar", ".pth", ".pt", ".tar")
HASH_PREFIX = re.compile(r"-([a-f0-9]+)\.")  # torch.hub's: the file name carries its sha256 prefix
METRICS = ("mse", "ms-ssim")


def zoo_tables() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """CompressAI's (architectures, quality configs, pretrained URLs)."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        from compressai.zoo.image import cfgs, model_architectures, model_urls
    return model_architectures, cfgs, model_urls


def weight_dirs() -> list[Path]:
    """Where zoo files are looked for: the weights folder first (placed by hand), then the cache (downloads)."""
    from ipr_bench.core.cache import default_cache_dir
    from ipr_bench.core.weights import weights_dir

    return [weights_dir() / "compressai", default_cache_dir() / "compressai"]


def fetch_zoo_file(url: str, progress: bool = False) -> Path:
    """The zoo file at ``url``, found locally or downloaded; its sha256 must start with the prefix in its name."""
    from ipr_bench.core.cache import file_sha256

    name = url.rsplit("/", 1)[-1]
    match = HASH_PREFIX.search(name)
    prefix = match.group(1) if match else None
    for folder in weight_dirs():
        path = folder / name
        if path.is_file():
            if prefix and not file_sha256(path).startswith(prefix):
                raise UnavailableError(f"{path}: its sha256 does not start with {prefix} (a damaged or other file)")
            return path
    target = weight_dirs()[-1] / name
    target.parent.mkdir(parents=True, exist_ok=True)
    import torch.hub

    partial = target.with_name(f".{name}.part")
    try:
        torch.hub.download_url_to_file(url, str(partial), hash_prefix=prefix, progress=progress)
    except RuntimeError as exc:  # torch.hub: the hash prefix did not match
        partial.unlink(missing_ok=True)
        raise UnavailableError(f"{url}: downloaded file rejected ({exc})") from None
    except OSError as exc:  # no network here
        partial.unlink(missing_ok=True)
        raise UnavailableError(
            f"cannot download {url} ({exc.__class__.__name__}: {exc}). Offline: download it elsewhere and place it "
            f"at {weight_dirs()[0] / name} (its sha256 starts with {prefix})"
        ) from None
    partial.replace(target)
    return target


def read_state_dict(path: Path) -> dict[str, Any]:
    """A CompressAI checkpoint's state dict, unpickling nothing but tensors and plain containers."""
    import pickle

    import torch

    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0][:200]
        raise UnavailableError(
            f"{path}: not a plain CompressAI checkpoint (only tensors and plain containers are read; {first})"
        ) from None
    state = loaded.get("state_dict", loaded) if isinstance(loaded, dict) else None
    if not isinstance(state, dict) or not state or not all(torch.is_tensor(v) for v in state.values()):
        raise UnavailableError(f"{path}: no state dict of tensors in it (expected train.py's {{'state_dict': …}})")
    return {k.removeprefix("module."): v for k, v in state.items()}  # saved from a (Custom)DataParallel


def tables_missing(state: dict[str, Any]) -> bool:
    """Whether a state dict was saved before ``update()``: its entropy bottleneck's CDF tables are empty."""
    tables = state.get("entropy_bottleneck._quantized_cdf")
    return tables is None or tables.numel() == 0


@register_codec("compressai")
class CompressAICodec(LearnedCodec):
    name = "compressai"
    payload_contains = (
        "1-byte format version + 1-byte quality + image height and width (2 × u16) + CompressAI's entropy-coded "
        "strings, each prefixed by its LEB128 length"
    )
    requires = "torch + compressai; the zoo's weights (downloaded when online) or a checkpoint path"

    def __init__(self, argument: str | None = None, device: str | None = None, **options: Any) -> None:
        metric = str(options.pop("metric", "mse"))
        super(LearnedCodec, self).__init__(**options)  # the checkpoint-directory set-up of learned: is not ours
        self.options["metric"] = metric
        if metric not in METRICS:
            raise OptionError(f"compressai: metric {metric!r}; choose {' or '.join(METRICS)}")
        architecture, _, path = (argument or "").partition(":")
        architectures, cfgs, urls = zoo_tables()
        if architecture not in architectures:
            raise OptionError(
                f"compressai:{architecture}: unknown architecture; CompressAI's: {', '.join(sorted(architectures))}"
            )
        self.architecture, self.metric = architecture, metric
        self.checkpoints: list[Path] = []
        if path:
            self.root = Path(path).expanduser()
            self.checkpoints = self._checkpoint_files(self.root)
            qualities = range(1, len(self.checkpoints) + 1)
        else:
            self.root = Path(f"compressai-zoo/{architecture}/{metric}")
            available = urls.get(architecture, {}).get(metric, {})
            if not available:
                raise UnavailableError(f"compressai:{architecture}: CompressAI publishes no {metric} weights for it")
            qualities = sorted(available)
        self.levels, self.boost, self.rate_points = 0, 0.0, []
        self.default_qualities = tuple(qualities)
        self.device = device or _best_device()
        self._models: dict[int, tuple[Any, dict[str, Any]]] = {}
        self._config: dict[str, Any] | None = None

    @staticmethod
    def _checkpoint_files(root: Path) -> list[Path]:
        if root.is_file():
            return [root]
        files = sorted(p for p in root.iterdir() if p.name.endswith(CHECKPOINT_SUFFIXES)) if root.is_dir() else []
        if not files:
            raise UnavailableError(f"{root}: no CompressAI checkpoint ({', '.join(CHECKPOINT_SUFFIXES)}) there")
        return files

    @classmethod
    def needs_argument(cls) -> str | None:
        return "an architecture: compressai:ARCH (zoo weights) or compressai:ARCH:CHECKPOINT_FILE_OR_DIR"

    def _source(self, quality: int) -> Path:
        if self.checkpoints:
            return self.checkpoints[quality - 1]
        _, _, urls = zoo_tables()
        return fetch_zoo_file(urls[self.architecture][self.metric][quality])

    def _model(self, quality: Any) -> tuple[Any, dict[str, Any]]:
        k = int(quality)
        if k != quality or k not in self.default_qualities:
            raise UnavailableError(f"compressai:{self.architecture} has qualities {list(self.default_qualities)}")
        if k not in self._models:
            from compressai.zoo.pretrained import load_pretrained

            from ipr_bench.learned.checkpoint import with_fast_indexes

            source = self._source(k)
            state = load_pretrained(read_state_dict(source))
            architectures, _, _ = zoo_tables()
            try:
                model = architectures[self.architecture].from_state_dict(state)
            except (KeyError, RuntimeError, ValueError) as exc:
                first = str(exc).strip().splitlines()[0][:200]
                raise UnavailableError(f"{source}: not a {self.architecture} state dict ({first})") from None
            computed_here = tables_missing(state)
            if computed_here:  # saved before update(): compute the CDF tables here (the config says so)
                model.update(force=True)
            model = with_fast_indexes(model).to(self.device).eval()
            self._models[k] = (model, {"source": str(source), "cdf_tables_computed_here": computed_here})
        return self._models[k]

    def _rate_point(self, quality: Any) -> int:
        return int(quality)

    def _describe(self) -> dict[str, Any]:
        from ipr_bench.core.cache import file_sha256

        sources = self.checkpoints or [self._source(q) for q in self.default_qualities]
        described = [
            {
                "quality": quality,
                "file": source.name,
                "sha256_16": file_sha256(source)[:16],
                # from the file, not from what was loaded so far: the config is part of every cache key
                "cdf_tables_computed_here": tables_missing(read_state_dict(source)),
            }
            for quality, source in zip(self.default_qualities, sources, strict=True)
        ]
        return {
            "codec": self.name,
            "version": self.version(),
            "architecture": self.architecture,
            "metric": self.metric,
            "weights": "checkpoints" if self.checkpoints else "compressai zoo",
            "checkpoints": described,
            **self.options,
        }
