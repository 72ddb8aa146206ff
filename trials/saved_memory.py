"""What autograd keeps for backward: a deterministic memory figure (unlike peak RSS), for tests and benchmarks."""

from collections.abc import Callable

import torch


def saved_tensor_bytes(step: Callable[[], object]) -> int:
    """Bytes of the distinct storages autograd saves for backward while ``step()`` runs (each storage once)."""
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        step()
    return sum(storages.values())
