"""DP-SGD's clip-and-noise step for networks of Linear and Conv2d layers, in one backward.

Opacus wraps every layer in general-purpose hooks and per-parameter machinery; on the
playground's small models that made a DP step 4-7x a plain one. For Linear and Conv2d
layers each example's gradient is built from two tensors the passes already have: the
layer's input and the gradient at its output (the "book-keeping" trick, Bu et al. 2023).
So: one forward that keeps those inputs, one backward to the layer outputs only (no weight
gradients), then per layer each example's gradient norm, the clip factors, and the clipped
sum. A Linear layer on flat inputs never materialises per-example gradients at all:
|g aᵀ|² = |g|²·|a|², and the clipped sum is one matmul.

The noise (σ·C, Gaussian), the Poisson batches, the division by the expected batch size
and the accountant are exactly Opacus' DP-SGD, so ε is the quantity Opacus reports.
"""
from __future__ import annotations

import os
import weakref
from concurrent.futures import ThreadPoolExecutor

import torch
from torch import nn
from torch.nn import functional as F

AHEAD_FROM = 16384  # parameters; below, handing the draw to a thread costs more than it
def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _trainable(module: nn.Module) -> list[bool]:
    return [p.requires_grad for p in module.parameters(recurse=False)]


def unsupported_layers(model: nn.Module) -> list[str]:
    """Layers with trainable weights that this clipper can't take (the caller then uses
    Opacus, which knows many more). Frozen layers are left out of clipping altogether."""
    out = []
    for name, module in model.named_modules():
        trainable = _trainable(module)
        if not any(trainable):
            continue
        if all(trainable) and (isinstance(module, nn.Linear) or (
                type(module) is nn.Conv2d and module.groups == 1
                and module.padding_mode == "zeros" and not isinstance(module.padding, str))):
            if set(dict(module.named_parameters(recurse=False))) <= {"weight", "bias"}:
                continue
        out.append(f"{name or 'model'} ({type(module).__name__})")
    return out


def patches(a: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """The input patches each output position of `conv` sees, as (n, positions, kh·kw·in),
    channels last: torch runs these small convolutions channels-last on CPU (the 1-channel
    input is ambiguous and it picks that), so this layout slices without copying, and
    kh·kw strided slices beat F.unfold, whose CPU im2col walks the batch one example at a
    time (2-3x slower here)."""
    (kh, kw), (sh, sw), (dh, dw), (ph, pw) = (conv.kernel_size, conv.stride, conv.dilation,
                                              conv.padding)
    a = a.permute(0, 2, 3, 1)  # (n, h, w, in)
    if ph or pw:
        a = F.pad(a, (0, 0, pw, pw, ph, ph))
    ho = (a.shape[1] - dh * (kh - 1) - 1) // sh + 1
    wo = (a.shape[2] - dw * (kw - 1) - 1) // sw + 1
    cols = [a[:, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw]
            for i in range(kh) for j in range(kw)]
    return torch.stack(cols, 3).reshape(a.shape[0], ho * wo, -1)


class BookKeepingClipper:
    """Replaces `loss.backward()`: leaves each parameter's .grad as the noisy mean of the
    per-example gradients, each clipped to `max_grad_norm`, as Opacus' DPOptimizer would.

    The loss must be a mean over the batch of per-example terms (cross-entropy, the
    distillation loss), so that n · ∂loss/∂output row i is example i's own gradient.
    """

    def __init__(self, model: nn.Module, max_grad_norm: float, noise_multiplier: float,
                 expected_batch_size: int, seed: int | None = None):
        self.max_grad_norm = max_grad_norm
        self.noise_multiplier = noise_multiplier
        self.expected_batch_size = expected_batch_size
        self.layers = [m for m in model.modules()
                       if isinstance(m, (nn.Linear, nn.Conv2d)) and any(_trainable(m))]
        self.params = [p for m in self.layers for p in (m.weight, m.bias) if p is not None]
        self._seen: list[tuple[nn.Module, torch.Tensor, torch.Tensor]] = []
        self._handles = [m.register_forward_hook(self._keep) for m in self.layers]
        # Each forward of the whole model starts afresh: only the latest one is clipped.
        self._handles.append(model.register_forward_pre_hook(self._start))
        # The noise has a generator of its own, so the draws are the same sequence however
        # the background thread is timed (and the training's own randomness is untouched).
        # Like Opacus outside its secure mode, the noise follows from the run's seed, so
        # runs are reproducible; the guarantee assumes the seed stays secret, and two runs
        # with one seed share their noise.
        device = self.params[0].device
        self._generator = torch.Generator(device=device)
        # Seeded apart from the run's own stream, which drew the initial weights.
        base = torch.initial_seed() if seed is None else seed
        self._generator.manual_seed((base + 0x9E3779B97F4A7C15) % 2**63)
        self._size = sum(p.numel() for p in self.params)
        self._next_noise = None
        # One background thread draws the next step's noise while this step computes. On a
        # CPU torch draws Gaussians on one core only, ~2.5 ns each: for the 256-wide MLP
        # that was half a plain step. Torch lets go of the GIL while it draws. The clipper
        # owns the thread (started on first use, stopped by remove()).
        self._noise_thread: ThreadPoolExecutor | None = None
        # Ahead only where torch trains on fewer threads than the CPUs this process may
        # use: a worker leaves one (for the app, and the ε helper, both mostly idle).
        self._ahead = (device.type == "cpu" and torch.get_num_threads() < _cores()
                       and self._size >= AHEAD_FROM)

    def _start(self, module, inputs) -> None:
        self._seen = []

    def _keep(self, module, inputs, output) -> None:
        if torch.is_grad_enabled() and output.requires_grad:  # not during validation
            self._seen.append((module, inputs[0].detach(), output))

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._seen = []
        if self._next_noise is not None:
            self._next_noise.cancel()
            self._next_noise = None
        if self._noise_thread is not None:
            self._noise_thread.shutdown(wait=False, cancel_futures=True)
            self._noise_thread = None

    def _draw(self) -> torch.Tensor:
        return torch.randn(self._size, device=self.params[0].device, generator=self._generator)

    def _noise(self) -> torch.Tensor:
        """Standard normal noise for every parameter, drawn ahead on a CPU core that
        training leaves free. With none free the thread would stall torch's own threads
        (measured: the MLP's DP step got slower), so then it is drawn in place; a GPU
        draws it quickly and asynchronously anyway."""
        if not self._ahead:
            return self._draw()
        noise = self._draw() if self._next_noise is None else self._next_noise.result()
        if self._noise_thread is None:
            self._noise_thread = ThreadPoolExecutor(max_workers=1,
                                                    thread_name_prefix="dp-noise")
            # A run that ends by an exception never calls remove(): stop it with the clipper.
            weakref.finalize(self, self._noise_thread.shutdown, wait=False)
        self._next_noise = self._noise_thread.submit(self._draw)
        return noise

    def backward(self, loss: torch.Tensor, batch_size: int) -> None:
        seen, self._seen = self._seen, []
        if batch_size == 0:  # an empty Poisson batch: the step is noise alone
            self._set_noisy_grads([(p, torch.zeros_like(p)) for p in self.params])
            return
        if not seen or any(a.shape[0] != batch_size for _, a, _ in seen):
            raise RuntimeError(f"per-example clipping expected one forward pass of "
                               f"{batch_size} examples through the model just before")
        if len({id(m) for m, _, _ in seen}) < len(seen):
            raise RuntimeError("a layer ran twice in one forward pass; per-example clipping "
                               "here assumes each layer runs once")
        # ∂loss/∂output row i is example i's gradient / n (the loss is a batch mean); the
        # factor n is applied to the norms and the clip factors, not to every tensor.
        outs = torch.autograd.grad(loss, [o for _, _, o in seen], allow_unused=True)
        parts, squares = [], torch.zeros(batch_size, device=loss.device)
        for (module, a, out), g in zip(seen, outs, strict=True):
            g = torch.zeros_like(out) if g is None else g
            if isinstance(module, nn.Linear) and a.dim() == 2:
                g2 = g.pow(2).sum(1)
                squares += g2 * a.pow(2).sum(1)
                if module.bias is not None:
                    squares += g2
                parts.append((module, a, g, None, None))
                continue
            if isinstance(module, nn.Conv2d):
                a = patches(a, module)  # (n, positions, kh·kw·in)
                g = g.permute(0, 2, 3, 1).reshape(batch_size, a.shape[1], -1)
            else:  # Linear on a sequence: sum over its positions
                a = a.reshape(batch_size, -1, a.shape[-1])
                g = g.reshape(batch_size, -1, g.shape[-1])
            per_w = torch.bmm(g.transpose(1, 2), a)  # (n, out, kh·kw·in or in)
            per_b = g.sum(1)
            squares += torch.linalg.vector_norm(per_w.flatten(1), dim=1).square()
            if module.bias is not None:
                squares += per_b.square().sum(1)
            parts.append((module, None, None, per_w, per_b))
        norms = squares.sqrt() * batch_size
        # Opacus' clip factor, to the same small constant; times n for the per-example scale.
        factor = (self.max_grad_norm / (norms + 1e-6)).clamp(max=1.0) * batch_size
        grads = []
        for module, a, g, per_w, per_b in parts:
            if per_w is None:
                scaled = g * factor[:, None]
                weight, bias = scaled.t() @ a, scaled.sum(0)
            else:
                weight = (factor @ per_w.flatten(1)).view(per_w.shape[1:])
                bias = factor @ per_b
                if isinstance(module, nn.Conv2d):  # (out, kh·kw·in) back to (out, in, kh, kw)
                    out, inp, kh, kw = module.weight.shape
                    weight = weight.view(out, kh, kw, inp).permute(0, 3, 1, 2)
            grads.append((module.weight, weight))
            if module.bias is not None:
                grads.append((module.bias, bias))
        self._set_noisy_grads(grads)

    def _set_noisy_grads(self, clipped_sums) -> None:
        """p.grad = (clipped sum + N(0, σ²C²)) / expected batch size, one noise draw for all."""
        std = self.noise_multiplier * self.max_grad_norm
        noise = self._noise()
        start = 0
        for p, clipped in clipped_sums:
            part = noise[start:start + p.numel()].view(p.shape)
            start += p.numel()
            p.grad = part.mul_(std).add_(clipped).div_(self.expected_batch_size)
