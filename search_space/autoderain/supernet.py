"""The AutoDerain supernet: the U of ``network.UNet`` whose RSEBs hold every candidate op of both slots and an
SE gate, with architecture weights a_conv (blocks x slots x ops) and a_se (blocks x 2, index 1 = SE on).

Three ways to run it (``relaxation`` picks what ``forward`` does; softmax by default, so that any first-order
DARTS-style method sees a continuous relaxation; MDARTS switches to discrete):
- ``forward_path(x, genotype)``: one discrete architecture on the shared weights (weight steps, RSWS).
- ``discrete`` (MDARTS, autoderain-spec 3): the forward runs only the argmax op of every slot, as the one-hot
  prox_C1(a) selects; the gradient with respect to the one-hot weights is applied to a (BinaryConnect). The
  other candidates' gradients <dL/d out, op_j(x)> are computed in backward from the slot's input, one op at a
  time without a graph (``DiscreteGate``), so the step holds one path: the memory of one model. They equal
  what evaluating every op scaled by its 0/1 weight gives (tests/test_autoderain_space.py).
- ``softmax`` (DARTS): every op runs, mixed by softmax(a) per slot: the same-space baseline.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ..core import NetworkIO
from ..core import Supernet as BaseSupernet
from .genotype import Block, Genotype
from .network import DerivedNet, UNet
from .ops import SqueezeExcite, make_op
from .space import AutoDerainConfig

RELAXATIONS = ("discrete", "softmax")
SLOTS = ("a", "b")


class DiscreteGate(torch.autograd.Function):
    """out = selected * onehot(argmax a)[k], where ``selected`` = candidates[k](x) was computed outside with
    its own graph. Backward: grad to ``selected`` as a product would give it; grad to ``a``: for every
    candidate j, <grad_out, candidates[j](x)>, recomputed from x under no_grad (nothing but x is kept), under
    the forward's autocast state (bf16 search: x is bf16 and the candidates' weights fp32), summed in fp32."""

    @staticmethod
    def forward(ctx, selected, a, x, k, candidates):
        ctx.save_for_backward(x)
        ctx.k, ctx.candidates, ctx.a_dtype = k, candidates, a.dtype
        device = x.device.type
        ctx.autocast = (device, torch.is_autocast_enabled(device), torch.get_autocast_dtype(device))
        return selected * 1.0  # the one-hot weight of the selected op

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        grad_a = None
        if ctx.needs_input_grad[1]:
            device, enabled, dtype = ctx.autocast
            with torch.no_grad(), torch.autocast(device, dtype=dtype, enabled=enabled):
                grad_a = torch.stack([(grad_out * op(x)).float().sum() for op in ctx.candidates]).to(ctx.a_dtype)
        return grad_out, grad_a, None, None, None


def discrete_mix(x: torch.Tensor, a: torch.Tensor, candidates) -> torch.Tensor:
    """The slot's output at prox_C1(a): only the argmax candidate runs forward (ties: the first)."""
    k = int(torch.argmax(a))
    selected = candidates[k](x)
    if not a.requires_grad:
        return selected
    return DiscreteGate.apply(selected, a, x, k, candidates)


def softmax_mix(x: torch.Tensor, a: torch.Tensor, candidates) -> torch.Tensor:
    weights = F.softmax(a, dim=-1)
    return sum(w * op(x) for w, op in zip(weights, candidates, strict=True))


class MixedRSEB(nn.Module):
    """An RSEB with every candidate op in both slots (``conv_a``, ``conv_b``) and its SE gate."""

    def __init__(self, ops: tuple[str, ...], channels: int, se_reduction: int):
        super().__init__()
        self.conv_a = nn.ModuleList(make_op(op, channels) for op in ops)
        self.conv_b = nn.ModuleList(make_op(op, channels) for op in ops)
        self.se = SqueezeExcite(channels, se_reduction)
        self.gates = (nn.Identity(), self.se)  # index 1 = SE on (a tuple: not registered twice)

    def path(self, x: torch.Tensor, a: int, b: int, se: bool) -> torch.Tensor:
        y = self.conv_b[b](F.relu(self.conv_a[a](x)))
        return x + (self.se(y) if se else y)

    def mixed(self, x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, se: torch.Tensor | None, mix) -> torch.Tensor:
        """``se`` None: the gate is on (not searched)."""
        y = mix(F.relu(mix(x, a, self.conv_a)), b, self.conv_b)
        return x + (self.se(y) if se is None else mix(y, se, self.gates))


class Supernet(BaseSupernet):
    def __init__(self, cfg: AutoDerainConfig, io: NetworkIO):
        super().__init__()
        self.cfg, self.io = cfg, io
        self.relaxation = "softmax"
        self.net = UNet(io, cfg.width, cfg.levels, cfg.per_stage, cfg.skip,
                        lambda i, channels: MixedRSEB(cfg.ops, channels, cfg.se_reduction))
        blocks = len(self.net.blocks)
        self.a_conv = nn.Parameter(self._initial(blocks, 1 if cfg.shared_choice else 2, len(cfg.ops)))
        self.a_se = nn.Parameter(self._initial(blocks, 2)) if cfg.se_search else None

    def _initial(self, *shape: int) -> torch.Tensor:
        """0.5 + noise, clipped to [0, 1]: NASP's 0.5 with the ties broken (autoderain-spec 2.4)."""
        return (0.5 + self.cfg.init_noise * torch.randn(*shape)).clamp(0, 1)

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.a_conv] + ([self.a_se] if self.a_se is not None else [])

    def project_(self) -> None:
        """prox_C2: the box [0, 1] (after every MDARTS architecture step)."""
        with torch.no_grad():
            for a in self.arch_parameters():
                a.clamp_(0, 1)

    # --- forwards ---------------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.relaxation not in RELAXATIONS:
            raise ValueError(f"unknown relaxation {self.relaxation!r}; valid: {', '.join(RELAXATIONS)}")
        mix = discrete_mix if self.relaxation == "discrete" else softmax_mix
        return self.net(x, lambda i, block, h: block.mixed(h, *self._slot_weights(i), mix))

    def _slot_weights(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        rows = self.a_conv[i]
        return rows[0], rows[-1], None if self.a_se is None else self.a_se[i]

    def forward_path(self, x: torch.Tensor, genotype: Genotype) -> torch.Tensor:
        choices = self.choices(genotype)
        return self.net(x, lambda i, block, h: block.path(h, *choices[i]))

    def forward_selected(self, x: torch.Tensor) -> torch.Tensor:
        """The derived architecture's path: the MDARTS weight step (only the selected ops get gradients)."""
        return self.forward_path(x, self.derive())

    def choices(self, genotype: Genotype) -> list[tuple[int, int, bool]]:
        """(op index of slot a, of slot b, SE on) per block, checked against this supernet."""
        cfg = self.cfg
        shape = (genotype.levels, genotype.per_stage, genotype.skip, genotype.se_reduction)
        if shape != (cfg.levels, cfg.per_stage, cfg.skip, cfg.se_reduction):
            raise ValueError(f"genotype (levels, N, skip, r) = {shape} does not fit this supernet's "
                             f"{(cfg.levels, cfg.per_stage, cfg.skip, cfg.se_reduction)}")
        missing = sorted({op for b in genotype.blocks for op in (b.a, b.b) if op not in cfg.ops})
        if missing:
            raise ValueError(f"genotype uses ops {missing} that space.ops {cfg.ops} lacks")
        return [(cfg.ops.index(b.a), cfg.ops.index(b.b), b.se) for b in genotype.blocks]

    # --- derivation -------------------------------------------------------------------------------------
    def derive(self) -> Genotype:
        """argmax per slot (ties: the first op); SE on iff a_se[b, 1] > a_se[b, 0] (autoderain-spec 4)."""
        cfg = self.cfg
        conv = self.a_conv.detach().argmax(-1).tolist()
        se = [True] * len(conv) if self.a_se is None else (self.a_se.detach()[:, 1] > self.a_se.detach()[:, 0]).tolist()
        blocks = tuple(Block(cfg.ops[row[0]], cfg.ops[row[-1]], bool(on)) for row, on in zip(conv, se, strict=True))
        return Genotype(blocks, cfg.width, cfg.levels, cfg.per_stage, cfg.skip, cfg.se_reduction)

    def arch_weights(self) -> dict[str, torch.Tensor]:
        """a itself for the discrete relaxation (values in [0, 1]), softmax(a) for DARTS; detached, on the CPU."""
        def view(a):
            return (a if self.relaxation == "discrete" else F.softmax(a, -1)).detach().cpu().clone()
        weights = {"a_conv": view(self.a_conv)}
        return weights | ({"a_se": view(self.a_se)} if self.a_se is not None else {})

    def op_parameter_counts(self) -> torch.Tensor:
        """(blocks, ops) weights of each candidate conv in each block: NASP's cost p_k for its regulariser."""
        return torch.tensor([[sum(p.numel() for p in op.parameters()) for op in block.conv_a]
                             for block in self.net.blocks], dtype=torch.float32)

    def derived_network(self, genotype: Genotype) -> DerivedNet:
        """The derived net of ``genotype`` at the search width with this supernet's weights: the same function
        as ``forward_path(x, genotype)``."""
        choices = self.choices(genotype)
        net = DerivedNet(genotype, self.io, self.cfg.width).to(self.a_conv.device)
        state = {}
        for key, value in self.state_dict().items():
            mapped = _derived_key(key, choices)
            if mapped is not None:
                state[mapped] = value
        net.load_state_dict(state)
        return net


def _derived_key(key: str, choices: list[tuple[int, int, bool]]) -> str | None:
    parts = key.split(".")
    if parts[0] in ("a_conv", "a_se"):
        return None
    if parts[:2] == ["net", "blocks"]:
        block, what = int(parts[2]), parts[3]  # net.blocks.<i>.conv_a.<op>.<rest> / net.blocks.<i>.se.<rest>
        a, b, se = choices[block]
        if what in ("conv_a", "conv_b"):
            return ".".join(parts[:4] + parts[5:]) if int(parts[4]) == (a if what == "conv_a" else b) else None
        return key if se else None
    return key
