"""One model for all rates: a scale hyperprior with gain units (Cui et al., "Asymmetric Gained Deep Image
Compression With Continuous Rate Adaptation", CVPR 2021), and the same gains as a spatial quality map.

K rate levels, each a pair of channel-wise gain vectors on the latent y (before quantisation: a larger gain
means finer steps, more bits) and its inverse (before synthesis), and a pair on the hyper-latent z. Trained with
a random level per image and that level's λ, one network serves every rate. Between levels the gains are
interpolated geometrically, so any level in [0, K−1] is a rate.

The level may be one per image or a map over the latent grid ([N, 1, h, w] at y's resolution): a map that is
higher on the face than on the background spends bits where identity lives — a learned codec's ROI coding. The
decoder must rebuild the same map (ipr_bench.learned.coding sends what it is made from), so the hyper-latent z always
uses one level per image (the map's mean), which keeps z decodable before y.

Plain ``nn.Module`` with CompressAI's interface: ``forward(x, level)``, ``compress(x, level)``,
``decompress(strings, shape, level)``; the entropy coder is CompressAI's.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from compressai.models import ScaleHyperprior
from torch import nn


class GainedScaleHyperprior(ScaleHyperprior):
    def __init__(self, N: int, M: int, levels: int = 6, **kwargs: Any) -> None:  # noqa: N803 (CompressAI's names)
        super().__init__(N, M, **kwargs)
        if levels < 2:
            raise ValueError(f"a variable-rate model needs at least 2 levels, not {levels}")
        self.levels = int(levels)
        # start the levels spread over a factor 8 of quantisation step (≈ 3 bits per latent from lowest to
        # highest), lowest level first; training moves every gain freely
        steps = torch.linspace(-1.5, 1.5, levels)[:, None]
        self.gain = nn.Parameter((2**steps).expand(levels, M).clone())
        self.inverse_gain = nn.Parameter((2 ** (-steps)).expand(levels, M).clone())
        self.hyper_gain = nn.Parameter(torch.ones(levels, N))
        self.hyper_inverse_gain = nn.Parameter(torch.ones(levels, N))

    # ------------------------------------------------------------------------------------------ levels
    def _interpolate(self, table: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        """Gains for ``level`` ([N] per image, or [N, 1, h, w] per latent position), geometric between levels:
        [N, C, 1, 1] or [N, C, h, w]."""
        level = level.to(table.dtype).clamp(0, self.levels - 1)
        low = level.floor().clamp(max=self.levels - 2)
        t = level - low
        log_table = table.abs().clamp_min(1e-6).log()  # gains are positive; abs keeps a stray sign harmless
        low_i = low.long()
        if level.dim() == 1:
            a, b = log_table[low_i], log_table[low_i + 1]  # [N, C]
            return torch.exp(a + t[:, None] * (b - a))[:, :, None, None]
        a = log_table[low_i[:, 0]].permute(0, 3, 1, 2)  # [N, h, w, C] → [N, C, h, w]
        b = log_table[low_i[:, 0] + 1].permute(0, 3, 1, 2)
        return torch.exp(a + t * (b - a))

    @staticmethod
    def per_image(level: torch.Tensor) -> torch.Tensor:
        return level if level.dim() == 1 else level.flatten(1).mean(dim=1)

    def _levels(self, level: Any, batch: int, device: torch.device) -> torch.Tensor:
        if not torch.is_tensor(level):
            level = torch.full((batch,), float(level), device=device)
        if level.dim() == 0:
            level = level.expand(batch)
        return level.to(device)

    # -------------------------------------------------------------------------------------- CompressAI
    def forward(self, x: torch.Tensor, level: Any = None) -> dict[str, Any]:
        level = self._levels(self.levels - 1 if level is None else level, x.shape[0], x.device)
        y = self.g_a(x) * self._interpolate(self.gain, level)
        z_level = self.per_image(level)
        z = self.h_a(torch.abs(y)) * self._interpolate(self.hyper_gain, z_level)
        z_hat, z_likelihoods = self.entropy_bottleneck(z)
        scales_hat = self.h_s(z_hat * self._interpolate(self.hyper_inverse_gain, z_level))
        y_hat, y_likelihoods = self.gaussian_conditional(y, scales_hat)
        x_hat = self.g_s(y_hat * self._interpolate(self.inverse_gain, level))
        return {"x_hat": x_hat, "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}

    def coding_scales(self, z_hat: torch.Tensor, z_level: torch.Tensor) -> torch.Tensor:
        """The scales that choose each y symbol's CDF when coding, computed in float64 from the decoded z.

        Encoder and decoder must pick the same CDF for every symbol, or the decoder reads other symbols from
        there on. In float32 they do not across devices or batch sizes: streams encoded on an H200 (TF32 and
        batch-dependent convolution algorithms) decoded on the CPU 20–30 dB below their encoder-side PSNR
        (results/bench/bench_codec_crossdevice.jsonl). In float64 the differences left are ~1e-16 relative,
        against 64 table boundaries per symbol. Training (``forward``) keeps float32: it codes nothing."""
        from torch.func import functional_call

        weights = {k: v.double() for k, v in self.h_s.state_dict().items()}
        gain = self._interpolate(self.hyper_inverse_gain.double(), z_level.double())
        return functional_call(self.h_s, weights, (z_hat.double() * gain,))

    def compress(self, x: torch.Tensor, level: Any = None) -> dict[str, Any]:
        level = self._levels(self.levels - 1 if level is None else level, x.shape[0], x.device)
        y = self.g_a(x) * self._interpolate(self.gain, level)
        z_level = self.per_image(level)
        z = self.h_a(torch.abs(y)) * self._interpolate(self.hyper_gain, z_level)
        z_strings = self.entropy_bottleneck.compress(z)
        z_hat = self.entropy_bottleneck.decompress(z_strings, z.size()[-2:])
        indexes = self.gaussian_conditional.build_indexes(self.coding_scales(z_hat, z_level))
        y_strings = self.gaussian_conditional.compress(y, indexes)
        return {"strings": [y_strings, z_strings], "shape": z.size()[-2:]}

    def decompress(self, strings: list, shape: Any, level: Any = None) -> dict[str, Any]:
        batch = len(strings[1])
        device = next(self.parameters()).device
        level = self._levels(self.levels - 1 if level is None else level, batch, device)
        z_level = self.per_image(level)
        z_hat = self.entropy_bottleneck.decompress(strings[1], shape)
        indexes = self.gaussian_conditional.build_indexes(self.coding_scales(z_hat, z_level))
        y_hat = self.gaussian_conditional.decompress(strings[0], indexes, z_hat.dtype)
        x_hat = self.g_s(y_hat * self._interpolate(self.inverse_gain, level)).clamp_(0, 1)
        return {"x_hat": x_hat}


def lambda_for(level: torch.Tensor, lambdas: tuple[float, ...]) -> torch.Tensor:
    """λ of each image's level, geometric between the levels' λs (as the gains are)."""
    logs = torch.tensor([math.log(v) for v in lambdas], dtype=torch.float32, device=level.device)
    level = level.float().clamp(0, len(lambdas) - 1)
    low = level.floor().clamp(max=len(lambdas) - 2).long()
    t = level - low
    return torch.exp(logs[low] + t * (logs[low + 1] - logs[low]))
