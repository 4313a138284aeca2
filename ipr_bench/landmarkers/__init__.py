"""Built-in landmarkers, one module per detector family; importing this package registers them."""

from ipr_bench.landmarkers import dlib, mtcnn, onnx  # noqa: F401
