"""A fixed architecture instead of a search: a space's named genotype (e.g. AutoDerain's hand-designed
net) or a genotype JSON file, retrained and evaluated by the same pipeline as the searched ones. The method
does not search (``searches = False``): the loop runs no epoch, whatever the search settings say.
"""

from dataclasses import dataclass
from pathlib import Path

from search_space import SINGLE_PATH, SPACES, Genotype, load_genotype
from trials.methods.base import METHODS, MethodConfig, NoSearch, SearchContext


@dataclass(frozen=True)
class FixedConfig(MethodConfig):
    name: str = "fixed"
    genotype: str = "hand"  # a name the space defines (space.named_genotypes) or a genotype JSON file


def resolve(genotype: str, space_name: str, space_config) -> Genotype:
    named = SPACES.get(space_name).named_genotypes(space_config)
    if genotype in named:
        return named[genotype]
    path = Path(genotype)
    if not path.is_file():
        raise ValueError(f"method.genotype={genotype!r} is neither a genotype of space {space_name} "
                         f"({', '.join(named) or 'it names none'}) nor a genotype JSON file")
    loaded = load_genotype(path)
    if loaded.space != space_name:
        raise ValueError(f"{path} is a {loaded.space} genotype, but space.name is {space_name}")
    return loaded


@METHODS.register
class Fixed(NoSearch):
    name = "fixed"
    label = "fixed architecture"
    config_class = FixedConfig
    requires = frozenset({SINGLE_PATH})

    def __init__(self, config: FixedConfig, ctx: SearchContext):
        super().__init__(config, ctx)
        self.genotype = resolve(config.genotype, ctx.space.name, ctx.space_config)

    @classmethod
    def check(cls, config: FixedConfig, loop, space) -> None:
        resolve(config.genotype, space.name, space)

    def current_genotype(self) -> Genotype:
        return self.genotype
