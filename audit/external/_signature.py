"""What an ONNX file is, checked before it is stored: valid, standard operators only, and a
signature fairgov knows how to feed and read.

Nothing here runs the model: :func:`inspect_onnx` reads the protobuf, runs
``onnx.checker`` and classifies the graph's inputs and outputs into a :class:`Signature`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

import onnx
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict

from audit.errors import (
    CustomOperatorDomain,
    InvalidOnnxModel,
    OnnxModelTooLarge,
    UnexpectedOnnxSignature,
)

#: The operator domains fairgov runs: the ONNX standard ("" is ``ai.onnx``) and ONNX-ML.
STANDARD_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml"})
#: The largest ONNX file :func:`inspect_onnx` accepts by default (256 MiB).
MAX_ONNX_BYTES = 256 * 1024 * 1024

Element = Literal["float", "double", "int64", "int32", "string", "bool", "other"]
_ELEMENTS: dict[int, Element] = {
    onnx.TensorProto.FLOAT: "float",
    onnx.TensorProto.DOUBLE: "double",
    onnx.TensorProto.INT64: "int64",
    onnx.TensorProto.INT32: "int32",
    onnx.TensorProto.STRING: "string",
    onnx.TensorProto.BOOL: "bool",
}
_FLOATS = ("float", "double")
_COLUMN_ELEMENTS = ("string", "float", "double", "int64")
_LABEL_ELEMENTS = ("int64", "string")

EXPECTED_INPUTS = (
    "one 2-D float tensor [N, F], or one [N, 1] string/float/int64 tensor per dataset column"
)
EXPECTED_OUTPUTS = (
    "a label output (int64 or string [N]) and/or probabilities (float [N, 2] or [N, 1], or a "
    "ZipMap sequence of maps), or a single float output [N, 1] or [N, 2]"
)


class OnnxValue(BaseModel):
    """One input or output of the graph: a tensor (element type and shape) or a sequence of
    maps (ZipMap's ``seq(map(key, float))``); a dimension is a size, a name, or None."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: Literal["tensor", "sequence_of_maps", "other"]
    element: Element
    shape: tuple[int | str | None, ...] = ()
    key: Element | None = None

    def describe(self) -> str:
        if self.kind == "sequence_of_maps":
            return f"{self.name}: seq(map({self.key}, {self.element}))"
        if self.kind == "other":
            return f"{self.name}: an unsupported type"
        dims = ", ".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.name}: {self.element}[{dims}]"


class Signature(BaseModel):
    """How fairgov feeds a model and reads it, decided when the file is registered.

    ``layout`` is ``tensor`` (one 2-D float input, columns in a given order) or ``columns``
    (one input per dataset column, by name). ``label_output`` is the predicted-label output,
    if any; ``score_output`` the probabilities (``score_form`` ``zipmap`` or ``tensor``) or,
    with no label output, the model's single float output, whose meaning (probability or
    logit) the audit spec must give.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    inputs: tuple[OnnxValue, ...]
    outputs: tuple[OnnxValue, ...]
    layout: Literal["tensor", "columns"]
    label_output: str | None
    score_output: str | None
    score_form: Literal["zipmap", "tensor"] | None
    opsets: dict[str, int]

    @property
    def features(self) -> int | None:
        """F of a ``tensor`` input [N, F] when the file fixes it."""
        if self.layout != "tensor":
            return None
        width = self.inputs[0].shape[1]
        return width if isinstance(width, int) else None

    def describe(self) -> str:
        """One line: the inputs and outputs, as the CLI prints them."""
        ins = "; ".join(v.describe() for v in self.inputs)
        outs = "; ".join(v.describe() for v in self.outputs)
        return f"inputs ({self.layout}): {ins} -> outputs: {outs}"


def _value(info: onnx.ValueInfoProto) -> OnnxValue:
    kind = info.type.WhichOneof("value")
    if kind == "tensor_type":
        tensor = info.type.tensor_type
        dims = tuple(
            d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
            for d in tensor.shape.dim
        )
        return OnnxValue(
            name=info.name,
            kind="tensor",
            element=_ELEMENTS.get(tensor.elem_type, "other"),
            shape=dims,
        )
    if kind == "sequence_type" and info.type.sequence_type.elem_type.HasField("map_type"):
        mapping = info.type.sequence_type.elem_type.map_type
        value = mapping.value_type.tensor_type.elem_type
        return OnnxValue(
            name=info.name,
            kind="sequence_of_maps",
            element=_ELEMENTS.get(value, "other"),
            key=_ELEMENTS.get(mapping.key_type, "other"),
        )
    return OnnxValue(name=info.name, kind="other", element="other")


def _graphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                yield from _graphs(attribute.g)
            for sub in attribute.graphs:
                yield from _graphs(sub)


def _check_domains(name: str, model: onnx.ModelProto) -> None:
    domains = {o.domain for o in model.opset_import}
    for graph in _graphs(model.graph):
        domains.update(node.domain for node in graph.node)
    domains.update(f.domain for f in model.functions)
    custom = sorted(domains - STANDARD_DOMAINS)
    if custom:
        raise CustomOperatorDomain(name, custom)


def _tensors(model: onnx.ModelProto) -> Iterator[onnx.TensorProto]:
    """Every tensor the file holds: initializers (dense and sparse), and the tensor
    attributes of every node (``Constant``, ``ConstantOfShape``…), in every subgraph and
    function."""
    graphs = list(_graphs(model.graph))
    for function in model.functions:
        for node in function.node:
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    graphs.extend(_graphs(attribute.g))
                for sub in attribute.graphs:
                    graphs.extend(_graphs(sub))
    nodes = [n for g in graphs for n in g.node] + [n for f in model.functions for n in f.node]
    for graph in graphs:
        yield from graph.initializer
        for sparse in graph.sparse_initializer:
            yield from (sparse.values, sparse.indices)
    for node in nodes:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("sparse_tensor"):
                yield from (attribute.sparse_tensor.values, attribute.sparse_tensor.indices)
            for sparse in attribute.sparse_tensors:
                yield from (sparse.values, sparse.indices)


def _check_no_external_data(name: str, model: onnx.ModelProto) -> None:
    for tensor in _tensors(model):
        if tensor.data_location == onnx.TensorProto.EXTERNAL or tensor.external_data:
            raise InvalidOnnxModel(
                name,
                f"tensor {tensor.name or '(unnamed)'} is stored in an external file; save it "
                "inside",
            )


def _is_column(value: OnnxValue) -> bool:
    return (
        value.kind == "tensor"
        and value.element in _COLUMN_ELEMENTS
        and len(value.shape) == 2
        and value.shape[1] == 1
    )


def _layout(name: str, inputs: Sequence[OnnxValue]) -> Literal["tensor", "columns"]:
    first = inputs[0] if inputs else None
    if (
        len(inputs) == 1
        and first is not None
        and first.kind == "tensor"
        and first.element in _FLOATS
        and len(first.shape) == 2
    ):
        return "tensor"
    if inputs and all(_is_column(v) for v in inputs):
        return "columns"
    found = "; ".join(v.describe() for v in inputs) or "no inputs"
    raise UnexpectedOnnxSignature(name, EXPECTED_INPUTS, found)


def _is_label(value: OnnxValue) -> bool:
    rank_ok = len(value.shape) == 1 or (len(value.shape) == 2 and value.shape[1] == 1)
    return value.kind == "tensor" and value.element in _LABEL_ELEMENTS and rank_ok


def _is_score_tensor(value: OnnxValue) -> bool:
    if value.kind != "tensor" or value.element not in _FLOATS or len(value.shape) != 2:
        return False
    width = value.shape[1]
    return width in (1, 2) or not isinstance(width, int)


def _outputs(
    name: str, outputs: Sequence[OnnxValue]
) -> tuple[str | None, str | None, Literal["zipmap", "tensor"] | None]:
    labels = [v for v in outputs if _is_label(v)]
    zipmaps = [v for v in outputs if v.kind == "sequence_of_maps" and v.element in _FLOATS]
    tensors = [v for v in outputs if v not in labels and _is_score_tensor(v)]
    unknown = [v for v in outputs if v not in labels and v not in zipmaps and v not in tensors]
    scores = zipmaps + tensors
    if unknown or len(labels) > 1 or len(scores) > 1 or not (labels or scores):
        found = "; ".join(v.describe() for v in outputs) or "no outputs"
        raise UnexpectedOnnxSignature(name, EXPECTED_OUTPUTS, found)
    label = labels[0].name if labels else None
    if not scores:
        return label, None, None
    return label, scores[0].name, "zipmap" if zipmaps else "tensor"


def parse_onnx(name: str, data: bytes, *, max_bytes: int = MAX_ONNX_BYTES) -> onnx.ModelProto:
    """The checked model proto of ``data``; refuses oversized, invalid or non-standard files.

    Raises
    ------
    OnnxModelTooLarge, InvalidOnnxModel, CustomOperatorDomain
    """
    if len(data) > max_bytes:
        raise OnnxModelTooLarge(name, len(data), max_bytes)
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise InvalidOnnxModel(name, f"the bytes do not parse: {exc}") from None
    if not model.graph.node and not model.graph.output:
        raise InvalidOnnxModel(name, "the bytes hold no graph")
    _check_no_external_data(name, model)  # before the checker, which would open the file
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidOnnxModel(name, f"onnx.checker: {first}") from None
    _check_domains(name, model)
    return model


def signature_of(name: str, model: onnx.ModelProto) -> Signature:
    """Classify a checked model's inputs and outputs (see the module and
    ``docs/external_models.md``).

    Raises
    ------
    UnexpectedOnnxSignature
        The inputs or outputs are none of the supported shapes; says what was expected.
    """
    initializers = {t.name for t in model.graph.initializer}
    inputs = tuple(_value(v) for v in model.graph.input if v.name not in initializers)
    outputs = tuple(_value(v) for v in model.graph.output)
    layout = _layout(name, inputs)
    label, score, form = _outputs(name, outputs)
    opsets = {(o.domain or "ai.onnx"): int(o.version) for o in model.opset_import}
    return Signature(
        inputs=inputs,
        outputs=outputs,
        layout=layout,
        label_output=label,
        score_output=score,
        score_form=form,
        opsets=dict(sorted(opsets.items())),
    )


def inspect_onnx(name: str, data: bytes, *, max_bytes: int = MAX_ONNX_BYTES) -> Signature:
    """:func:`parse_onnx` then :func:`signature_of`.

    Examples
    --------
    >>> inspect_onnx("loans", open("loans.onnx", "rb").read()).layout  # doctest: +SKIP
    'columns'
    """
    return signature_of(name, parse_onnx(name, data, max_bytes=max_bytes))


def producer_of(model: onnx.ModelProto) -> str:
    """The exporter the file names (``skl2onnx 1.20.0``): stated by the file, not verified."""
    return f"{model.producer_name} {model.producer_version}".strip()[:200]
