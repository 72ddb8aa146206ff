"""AutoDerain (Fu, Hou, Chen, VCIP 2021): a U-shaped derainer of residual squeeze-and-excitation blocks whose
convolution types and SE gates are searched (autoderain-spec 2; only the abstract is public, so the space is
our reasoned design and every choice is a ``space.*`` key)."""

import random

from ..core import RELAXATION, SAMPLER, SINGLE_PATH, SKIP_START, SPACES, NetworkIO, SearchSpace, count_parameters
from .genotype import Block, Genotype, num_blocks, stage_names
from .network import RSEB, DerivedNet, UNet
from .ops import HAND_DESIGNED_OP, OPS, SqueezeExcite, make_op
from .space import AutoDerainConfig
from .supernet import RELAXATIONS, DiscreteGate, MixedRSEB, Supernet, discrete_mix, softmax_mix


def sample_genotype(cfg: AutoDerainConfig, rng: random.Random) -> Genotype:
    """A uniform draw: each slot's op (one per block with ``shared_choice``) and each block's SE gate."""
    blocks = []
    for _ in range(num_blocks(cfg.levels, cfg.per_stage)):
        a = rng.choice(cfg.ops)
        b = a if cfg.shared_choice else rng.choice(cfg.ops)
        blocks.append(Block(a, b, rng.random() < 0.5 if cfg.se_search else True))
    return _genotype(cfg, blocks)


def hand_designed(cfg: AutoDerainConfig) -> Genotype:
    """The hand-designed baseline of the issue: every slot a 3x3 conv, SE on in every block."""
    block = Block(HAND_DESIGNED_OP, HAND_DESIGNED_OP, True)
    return _genotype(cfg, [block] * num_blocks(cfg.levels, cfg.per_stage))


def _genotype(cfg: AutoDerainConfig, blocks: list[Block]) -> Genotype:
    return Genotype(tuple(blocks), cfg.width, cfg.levels, cfg.per_stage, cfg.skip, cfg.se_reduction)


def num_architectures(cfg: AutoDerainConfig) -> int:
    """(K^2 * 2)^blocks with per-slot choices and SE searched: 50^10 at the defaults."""
    per_block = len(cfg.ops) ** (1 if cfg.shared_choice else 2) * (2 if cfg.se_search else 1)
    return per_block ** num_blocks(cfg.levels, cfg.per_stage)


@SPACES.register
class AutoDerainSpace(SearchSpace):
    name = "autoderain"
    label = "AutoDerain"
    config_class = AutoDerainConfig
    genotype_class = Genotype
    capabilities = frozenset({SINGLE_PATH, SAMPLER, RELAXATION, SKIP_START})
    inferred_tag = "autoderain_inferred"

    def check(self, cfg: AutoDerainConfig, io: NetworkIO) -> None:
        if io.scale != 1:
            raise ValueError(f"the autoderain space restores images at their own size (a U-Net); the task asks "
                             f"for x{io.scale} outputs: use it for deraining or denoising, not SR")

    def supernet(self, cfg: AutoDerainConfig, io: NetworkIO) -> Supernet:
        return Supernet(cfg, io)

    def network(self, genotype: Genotype, io: NetworkIO, width: int) -> DerivedNet:
        return DerivedNet(genotype, io, width)

    def sample(self, cfg: AutoDerainConfig, rng: random.Random) -> Genotype:
        return sample_genotype(cfg, rng)

    def named_genotypes(self, cfg: AutoDerainConfig) -> dict[str, Genotype]:
        return {"hand": hand_designed(cfg)}

    def describe(self, cfg: AutoDerainConfig, io: NetworkIO, width: int, samples: int = 200, seed: int = 0) -> str:
        rng = random.Random(seed)
        derived = sorted(count_parameters(DerivedNet(sample_genotype(cfg, rng), io, width)) for _ in range(samples))
        net = Supernet(cfg, io)
        hand = count_parameters(DerivedNet(hand_designed(cfg), io, width))
        return "\n".join([
            f"AutoDerain search space: in_channels={io.in_channels} out_channels={io.out_channels}",
            f"  U with {cfg.levels} levels (stages {', '.join(stage_names(cfg.levels))}), {cfg.per_stage} RSEBs "
            f"per stage, search width C={cfg.width}, skip fusion {cfg.skip}, SE r={cfg.se_reduction}",
            f"  ops per slot: {', '.join(cfg.ops)}" + (" (one choice per block)" if cfg.shared_choice else
                                                        " (two slots per block)")
            + ("; SE on/off searched" if cfg.se_search else "; SE always on"),
            f"  supernet: {sum(p.numel() for p in net.weight_parameters()):,} weights + "
            f"{sum(p.numel() for p in net.arch_parameters())} architecture parameters; "
            f"discrete architectures: {num_architectures(cfg):,}",
            f"  derived nets at width {width} over {samples} random genotypes: "
            f"{derived[0]:,}-{derived[-1]:,} weights (median {derived[samples // 2]:,}); hand-designed "
            f"(all conv_3x3, SE on): {hand:,}",
        ])


__all__ = ["OPS", "RELAXATIONS", "RSEB", "AutoDerainConfig", "AutoDerainSpace", "Block", "DerivedNet",
           "DiscreteGate", "Genotype", "MixedRSEB", "SqueezeExcite", "Supernet", "UNet", "discrete_mix",
           "hand_designed", "make_op", "num_architectures", "num_blocks", "sample_genotype", "softmax_mix",
           "stage_names"]
