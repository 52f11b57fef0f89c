"""ONNX models made the way teams make them: exported with skl2onnx and onnxmltools, and a
small MLP graph in the shape torch.onnx.export writes (PyTorch itself is not installable
here: its wheels pull gigabytes of CUDA). Each comes with its native scorer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
import pandas as pd
from onnx import TensorProto, helper, numpy_helper

from audit.synthetic import FEATURES, LABEL, make_loans

NUMERIC = ("income", "debt_ratio", "credit_years")
CATEGORICAL = ("employment", "region")


@dataclass(frozen=True)
class Exported:
    """An exported model's bytes and the native model's positive-class probability."""

    data: bytes
    proba: Callable[[pd.DataFrame], np.ndarray[Any, Any]]


def loans(
    n: int = 600, seed: int = 0, bias: float = 0.4
) -> tuple[pd.DataFrame, np.ndarray[Any, Any]]:
    frame = make_loans(n, seed=seed, bias=bias)
    return frame, (frame[LABEL].astype(str) == "1").to_numpy(dtype=np.int64)


def _floats(frame: pd.DataFrame) -> np.ndarray[Any, Any]:
    return frame[list(NUMERIC)].to_numpy(dtype=np.float32)


def sklearn_pipeline(
    frame: pd.DataFrame, y: np.ndarray[Any, Any], *, zipmap: bool = True
) -> Exported:
    """A Pipeline with a ColumnTransformer, exported with one input per column."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    columns = list(FEATURES)
    pipe = Pipeline(
        [
            (
                "columns",
                ColumnTransformer(
                    [
                        ("cat", OneHotEncoder(handle_unknown="ignore"), list(CATEGORICAL)),
                        ("num", StandardScaler(), list(NUMERIC)),
                    ]
                ),
            ),
            ("lr", LogisticRegression()),
        ]
    ).fit(frame[columns], y)

    def kind(column: str) -> Any:
        if column in CATEGORICAL:
            return StringTensorType([None, 1])
        if pd.api.types.is_integer_dtype(frame[column]):
            return Int64TensorType([None, 1])
        return FloatTensorType([None, 1])

    options = {id(pipe): {"zipmap": zipmap}}
    proto = convert_sklearn(
        pipe,
        initial_types=[(c, kind(c)) for c in columns],
        target_opset={"": 17, "ai.onnx.ml": 3},
        options=options,
    )
    return Exported(proto.SerializeToString(), lambda f: pipe.predict_proba(f[columns])[:, 1])


def logistic_tensor(frame: pd.DataFrame, y: np.ndarray[Any, Any]) -> Exported:
    """A plain LogisticRegression on one float tensor of the numeric columns."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit(_floats(frame), y)
    proto = to_onnx(model, _floats(frame)[:1], options={id(model): {"zipmap": False}})
    return Exported(proto.SerializeToString(), lambda f: model.predict_proba(_floats(f))[:, 1])


def xgboost_tensor(frame: pd.DataFrame, y: np.ndarray[Any, Any]) -> Exported:
    import xgboost
    from onnxmltools import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    model = xgboost.XGBClassifier(n_estimators=30, max_depth=3, n_jobs=1).fit(_floats(frame), y)
    proto = convert_xgboost(
        model, initial_types=[("input", FloatTensorType([None, len(NUMERIC)]))], target_opset=15
    )
    return Exported(proto.SerializeToString(), lambda f: model.predict_proba(_floats(f))[:, 1])


def lightgbm_tensor(frame: pd.DataFrame, y: np.ndarray[Any, Any]) -> Exported:
    import lightgbm
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    model = lightgbm.LGBMClassifier(n_estimators=30, verbose=-1, n_jobs=1).fit(_floats(frame), y)
    proto = convert_lightgbm(
        model,
        initial_types=[("input", FloatTensorType([None, len(NUMERIC)]))],
        target_opset=15,
        zipmap=True,
    )
    return Exported(proto.SerializeToString(), lambda f: model.predict_proba(_floats(f))[:, 1])


def torch_like_mlp(*, seed: int = 0, sigmoid: bool = False, width: int = 2) -> Exported:
    """Linear → ReLU → Linear on the numeric columns, standardised inside the graph, as
    ``torch.onnx.export`` writes it (Gemm with transB, a dynamic ``batch`` axis, producer
    ``pytorch``); the output is a logit [batch, 1] (or [batch, 2]), or its sigmoid."""
    rng = np.random.default_rng(seed)
    features, hidden = len(NUMERIC), 8
    mean = np.array([50.0, 0.4, 10.0], dtype=np.float32)
    scale = np.array([20.0, 0.2, 6.0], dtype=np.float32)
    w1 = rng.normal(size=(hidden, features)).astype(np.float32)
    b1 = rng.normal(size=hidden).astype(np.float32)
    w2 = rng.normal(size=(width, hidden)).astype(np.float32)
    b2 = rng.normal(size=width).astype(np.float32)
    nodes = [
        helper.make_node("Sub", ["input", "mean"], ["centred"]),
        helper.make_node("Div", ["centred", "scale"], ["scaled"]),
        helper.make_node("Gemm", ["scaled", "fc1.weight", "fc1.bias"], ["h"], transB=1),
        helper.make_node("Relu", ["h"], ["relu"]),
        helper.make_node(
            "Gemm", ["relu", "fc2.weight", "fc2.bias"], ["logit" if sigmoid else "output"], transB=1
        ),
    ]
    if sigmoid:
        nodes.append(helper.make_node("Sigmoid", ["logit"], ["output"]))
    graph = helper.make_graph(
        nodes,
        "main_graph",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", features])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", width])],
        initializer=[
            numpy_helper.from_array(a, n)
            for a, n in (
                (mean, "mean"),
                (scale, "scale"),
                (w1, "fc1.weight"),
                (b1, "fc1.bias"),
                (w2, "fc2.weight"),
                (b2, "fc2.bias"),
            )
        ],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="pytorch"
    )
    model.producer_version = "2.5.0"
    model.ir_version = 8
    onnx.checker.check_model(model)

    def proba(frame: pd.DataFrame) -> np.ndarray[Any, Any]:
        x = (_floats(frame).astype(np.float64) - mean) / scale
        logits = np.maximum(x @ w1.T + b1, 0.0) @ w2.T + b2
        if width == 2:
            z = logits - logits.max(axis=1, keepdims=True)
            return np.exp(z[:, 1]) / np.exp(z).sum(axis=1)
        return 1.0 / (1.0 + np.exp(-logits[:, 0]))

    return Exported(model.SerializeToString(), proba)


def custom_domain() -> bytes:
    """A graph calling an operator of a custom domain (it would need foreign code)."""
    node = helper.make_node("Scorer", ["input"], ["output"], domain="com.example.secret")
    graph = helper.make_graph(
        [node],
        "custom",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 1])],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example.secret", 1)],
    )
    model.ir_version = 8
    return model.SerializeToString()


def regression_graph() -> bytes:
    """A valid model with an output fairgov cannot read as a classifier's: [batch, 3] scores."""
    weights = numpy_helper.from_array(np.ones((3, 3), dtype=np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["input", "w"], ["output"])],
        "wide",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 3])],
        initializer=[weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def _hostile(nodes: list[Any], initializers: list[Any]) -> bytes:
    """A graph on a float [batch, 3] ``input`` with a float [batch, 1] ``output``, that
    passes ``onnx.checker`` and uses standard operators only."""
    graph = helper.make_graph(
        nodes,
        "hostile",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 1])],
        initializer=[numpy_helper.from_array(np.ones((3, 1), np.float32), "w"), *initializers],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    data: bytes = model.SerializeToString()
    return data


def allocating(elements: int) -> bytes:
    """output = input @ w + sum(ConstantOfShape([elements]) of 0.0): a float tensor of
    ``elements`` values (4 bytes each) allocated at run time, by a file of a few hundred
    bytes."""
    return _hostile(
        [
            helper.make_node(
                "ConstantOfShape",
                ["shape"],
                ["big"],
                value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0]),
            ),
            helper.make_node("ReduceSum", ["big"], ["total"], keepdims=1),
            helper.make_node("MatMul", ["input", "w"], ["s"]),
            helper.make_node("Add", ["s", "total"], ["output"]),
        ],
        [numpy_helper.from_array(np.array([elements], np.int64), "shape")],
    )


def looping(trips: int) -> bytes:
    """output = input @ w, then a ``Loop`` of ``trips`` iterations that each add 0: about a
    microsecond an iteration, so 10¹² trips run for days."""
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["acc_in", "zero"], ["acc_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, ["batch", 1]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, ["batch", 1]),
        ],
        initializer=[numpy_helper.from_array(np.array(0.0, np.float32), "zero")],
    )
    return _hostile(
        [
            helper.make_node("MatMul", ["input", "w"], ["s"]),
            helper.make_node("Loop", ["trips", "cond", "s"], ["output"], body=body),
        ],
        [
            numpy_helper.from_array(np.array(trips, np.int64), "trips"),
            numpy_helper.from_array(np.array(True), "cond"),
        ],
    )
