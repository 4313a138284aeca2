"""Any ONNX face embedder: ``onnx:PATH`` with a sidecar JSON (``model.json`` beside ``model.onnx``).

Sidecar keys (all optional but ``input_size``)::

    {"input_size": [112, 112], "channel_order": "RGB", "scale": 0.0078125, "offset": -0.99609375,
     "layout": "NCHW", "template": "arcface", "embedding_dim": 512, "metric": "cosine", "fixed_batch": null}

``template`` is one of the named templates in ipr_bench.face.alignment (arcface, sphereface, facenet);
``landmarker`` (default ``mtcnn``, whose five points are the template's) and ``box_margin`` (crop the detector box
with this margin instead of the template warp) choose the alignment, as for every recognizer;
``fixed_batch`` is for models whose batch size is baked in (inputs are padded and outputs sliced).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ipr_bench.core.errors import Availability, UnavailableError
from ipr_bench.core.registry import register_recognizer
from ipr_bench.core.weights import checked_weight_file, weight_file
from ipr_bench.face.spec import FaceSpec
from ipr_bench.recognizers.base import Recognizer

SPEC_KEYS = {f for f in FaceSpec.__dataclass_fields__}
BATCH = 64


def read_sidecar(model_path: Path) -> dict[str, Any]:
    sidecar = model_path.with_suffix(".json")
    if not sidecar.is_file():
        return {}
    try:
        data = json.loads(sidecar.read_text())
    except json.JSONDecodeError as exc:
        raise UnavailableError(f"{sidecar}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    unknown = set(data) - SPEC_KEYS - {"fixed_batch", "name"}
    if unknown:
        raise UnavailableError(f"{sidecar}: unknown keys {sorted(unknown)}; allowed: {sorted(SPEC_KEYS)} + fixed_batch")
    return data


@register_recognizer("onnx")
class OnnxRecognizer(Recognizer):
    requires = "onnxruntime + an ONNX model with its description (sidecar JSON or options); onnx2torch for training"
    has_torch_module = True

    def __init__(
        self,
        model_path: str | Path | None = None,
        name: str | None = None,
        fixed_batch: int | None = None,
        threads: int | None = None,
        **spec_options: Any,
    ) -> None:
        if not model_path:
            raise UnavailableError("onnx recognizer: give the model as --recognizers onnx:/path/to/model.onnx")
        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise UnavailableError(f"onnx recognizer: model file not found: {self.model_path}")
        options = {**read_sidecar(self.model_path), **spec_options}
        self.fixed_batch = options.pop("fixed_batch", fixed_batch)
        self.name = options.pop("name", name or f"onnx:{self.model_path.name}")
        if "input_size" not in options:
            raise UnavailableError(
                f"onnx recognizer {self.model_path}: input_size unknown; write {self.model_path.with_suffix('.json')} "
                'like {"input_size": [112, 112], "template": "arcface"} or pass the options'
            )
        options["input_size"] = tuple(options["input_size"])
        self.spec = FaceSpec(**options)
        self.threads = threads
        self._session = None
        self._torch_module: Any = None
        self._digest: str | None = None

    @classmethod
    def needs_argument(cls) -> str | None:
        return "a model: onnx:PATH (a sidecar PATH.json describes its input)" if cls is OnnxRecognizer else None

    def session(self) -> Any:
        if self._session is None:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.log_severity_level = 3  # the declared output shape [1, D] vs dynamic batches warns on every call
            threads = self.threads or int(os.environ.get("IPR_BENCH_THREADS", "0"))
            if threads:
                opts.intra_op_num_threads = threads
                opts.inter_op_num_threads = 1
            self._session = ort.InferenceSession(str(self.model_path), opts, providers=["CPUExecutionProvider"])
        return self._session

    def torch_module(self) -> Any:
        """The ONNX graph as a frozen torch module (onnx2torch), for training losses."""
        if self._torch_module is None:
            try:
                from onnx2torch import convert
            except ImportError:
                raise UnavailableError(f"{self.name}: pip install onnx2torch to use it as a torch module") from None
            try:
                module = convert(str(self.model_path)).eval()
            except Exception as exc:  # an operator onnx2torch does not implement, a malformed graph
                raise UnavailableError(f"{self.name}: onnx2torch cannot convert {self.model_path}: {exc}") from None
            for p in module.parameters():
                p.requires_grad_(False)
            self._torch_module = module
        return self._torch_module

    def embed(self, faces: np.ndarray) -> np.ndarray:
        sess = self.session()
        name = sess.get_inputs()[0].name
        out = []
        step = self.fixed_batch or BATCH
        for i in range(0, len(faces), step):
            x = self.preprocess(faces[i : i + step])
            n = len(x)
            if self.fixed_batch and n < self.fixed_batch:
                x = np.concatenate([x, np.zeros((self.fixed_batch - n, *x.shape[1:]), x.dtype)])
            out.append(sess.run(None, {name: x})[0][:n])
        if not out:
            return np.zeros((0, self.spec.embedding_dim), np.float32)
        return np.concatenate(out).astype(np.float32)

    def config(self) -> dict[str, Any]:
        if self._digest is None:
            self._digest = hashlib.sha256(self.model_path.read_bytes()).hexdigest()[:16]
        return {**super().config(), "name": self.name, "model_sha256": self._digest}


class WeightsFolderOnnxRecognizer(OnnxRecognizer):
    """A named ONNX embedder whose file lives in the weights folder ($IPR_BENCH_WEIGHTS): subclasses give the
    file, how to get it, and the model's input description; nothing else."""

    weights: str  # path under the weights folder
    how_to_get: str  # shown when the file is absent
    description: dict[str, Any]  # FaceSpec options (+ fixed_batch)
    sha256: str | None = None  # the published digest, when there is one: checked before use

    def __init__(self, **options: Any) -> None:
        super().__init__(self._weights(), name=self.name, **{**self.description, **options})

    @classmethod
    def _weights(cls) -> Path:
        if cls.sha256 is None:
            return weight_file(cls.weights, cls.how_to_get)
        return checked_weight_file(cls.weights, cls.how_to_get, cls.sha256, f"the published {cls.name} model")

    @classmethod
    def availability(cls) -> Availability:
        try:
            cls._weights()
        except UnavailableError as exc:
            return Availability(False, str(exc))
        return Availability(True)
