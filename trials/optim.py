"""The gradient step shared by the search's weight step (Train W) and retraining."""

import torch


def clipped_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, parameters: list[torch.nn.Parameter],
                 grad_clip: float) -> None:
    """Backward into ``parameters`` only (other leaves' gradients would be thrown away), clip every gradient
    value to +-grad_clip (the reference's clip), then step."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward(inputs=parameters)
    torch.nn.utils.clip_grad_value_(parameters, grad_clip)
    optimizer.step()
