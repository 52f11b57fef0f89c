"""Small PyTorch classifiers trained on the loans data and exported with ``torch.onnx.export``,
by both of its exporters: the TorchScript tracer (``dynamo=False``) and ``torch.export``
(``dynamo=True``, through onnxscript). Each comes with torch's own probabilities."""

from __future__ import annotations

import io
import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd

from tests.unit.audit.external.onnx_models import NUMERIC, Exported, _floats

Head = Literal["logit", "probability", "two_logits"]


def torch_mlp(
    frame: pd.DataFrame,
    y: np.ndarray[Any, Any],
    *,
    dynamo: bool = False,
    head: Head = "logit",
    epochs: int = 60,
    seed: int = 0,
) -> Exported:
    """Standardise → Linear(3, 8) → ReLU → Linear(8, k), trained with Adam on ``frame``.

    ``head`` says what the graph outputs: one logit, its sigmoid, or two class logits (the
    positive class second). The returned ``proba`` is torch's own positive-class
    probability, computed by the trained module in float32."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    x = torch.from_numpy(_floats(frame))
    mean, scale = x.mean(0), x.std(0)
    width = 2 if head == "two_logits" else 1

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", mean)
            self.register_buffer("scale", scale)
            self.fc1 = torch.nn.Linear(len(NUMERIC), 8)
            self.fc2 = torch.nn.Linear(8, width)

        def forward(self, inputs: torch.Tensor) -> torch.Tensor:
            hidden = torch.relu(self.fc1((inputs - self.mean) / self.scale))
            out = self.fc2(hidden)
            return torch.sigmoid(out) if head == "probability" else out

    net = Net()
    optimiser = torch.optim.Adam(net.parameters(), lr=0.05)
    target = torch.from_numpy(y.astype(np.int64))
    for _ in range(epochs):
        optimiser.zero_grad()
        out = net(x)
        if head == "two_logits":
            loss = torch.nn.functional.cross_entropy(out, target)
        elif head == "probability":
            loss = torch.nn.functional.binary_cross_entropy(out[:, 0], target.float())
        else:
            loss = torch.nn.functional.binary_cross_entropy_with_logits(out[:, 0], target.float())
        loss.backward()
        optimiser.step()
    net.eval()

    buffer = io.BytesIO()
    example = (x[:4],)
    if dynamo:
        batch = torch.export.Dim("batch")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.export's own internals
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                net,
                example,
                buffer,
                input_names=["input"],
                output_names=["output"],
                dynamo=True,
                dynamic_shapes=({0: batch},),
                verbose=False,
            )
    else:
        # The TorchScript exporter is deprecated since 2.9 but still what many teams run.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # its own internals warn too
            torch.onnx.export(
                net,
                example,
                buffer,
                input_names=["input"],
                output_names=["output"],
                dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                dynamo=False,
            )

    def proba(rows: pd.DataFrame) -> np.ndarray[Any, Any]:
        with torch.no_grad():
            out = net(torch.from_numpy(_floats(rows)))
        if head == "two_logits":
            return torch.softmax(out, dim=1)[:, 1].numpy()
        if head == "probability":
            return out[:, 0].numpy()
        return torch.sigmoid(out[:, 0]).numpy()

    return Exported(buffer.getvalue(), proba)
