"""Model artifacts: skops files, never pickle, checked before they are loaded.

A model file's sha256 is its ``modelHash``. :func:`load_model` refuses a file whose hash
differs from the one recorded, and a file holding any type outside :data:`TRUSTED_TYPES`
(skops reports them without running any code), so a modified file cannot run code.

A model trained with an allow-listed ``module:Class`` estimator (:mod:`audit.spec`) also
holds that module's types; :func:`load_model` trusts exactly the types whose import path lies
under one of the allow-listed modules (``trusted_modules``), and nothing else.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

from audit.errors import (
    ModelFileMissing,
    ModelHashMismatch,
    ModelTypesNotAllowed,
    UntrustedModelType,
)
from core.canonical import file_sha256, sha256_hex

#: Types a fairgov model may hold beyond skops' defaults; everything else is refused.
TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        "builtins.dict",
        "builtins.list",
        "builtins.str",
        "builtins.float",
        "builtins.int",
        "numpy.dtype",
        "numpy.ndarray",
        "numpy.float64",
        "numpy.int64",
        "sklearn.compose._column_transformer.ColumnTransformer",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.impute._base.SimpleImputer",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.pipeline.Pipeline",
        "sklearn.preprocessing._encoders.OneHotEncoder",
        "sklearn.preprocessing._data.StandardScaler",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.link.Interval",
        "sklearn._loss._loss.CyHalfBinomialLoss",
    }
)


_NPY = re.compile(r"^\d+\.npy$")


def _skops() -> Any:
    """``skops.io``, imported when a model is written or read: importing it takes about 4.5 s
    here (it walks scikit-learn's types, and through them PyTorch's), which every command,
    API and scheduler start that imports this module (for :func:`write_atomically` alone,
    say) paid before."""
    import skops.io  # type: ignore[import-untyped]

    return skops.io


def write_atomically(directory: Path, filename: str, data: bytes) -> Path:
    """Write ``data`` to ``directory/filename`` through a synced temporary file and one
    rename, so a crash leaves the old file or the new one, never half of one."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename
    handle, tmp = tempfile.mkstemp(dir=directory, prefix=".model-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_model(model: Any, directory: Path) -> tuple[Path, str]:
    """Write ``model`` with skops to ``<directory>/<sha256>.skops``, atomically.

    Returns
    -------
    tuple of (Path, str)
        The file and its ``modelHash`` (``"0x" + sha256`` of its bytes).

    Examples
    --------
    >>> path, model_hash = save_model(model, data_dir / "models" / "loans")  # doctest: +SKIP
    >>> path.name == model_hash[2:] + ".skops"  # doctest: +SKIP
    True
    """
    payload = _deterministic_zip(_skops().dumps(model))
    model_hash = sha256_hex(payload)
    path = write_atomically(directory, f"{model_hash[2:]}.skops", payload)
    return path, model_hash


def _renumber(node: Any, ids: dict[int, int]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "__id__" and isinstance(value, int):
                out[key] = ids.setdefault(value, len(ids))
            else:
                out[key] = _renumber(value, ids)
        return out
    if isinstance(node, list):
        return [_renumber(item, ids) for item in node]
    if isinstance(node, str) and _NPY.match(node):
        return f"{ids.setdefault(int(node[:-4]), len(ids))}.npy"
    return node


def _deterministic_zip(payload: bytes) -> bytes:
    """Canonical bytes of a skops file, so equal models give the same ``modelHash``.

    skops names objects and array files by ``id()`` and stamps zip entries with the current
    time; both are renumbered in schema order and pinned, which skops loads unchanged.
    """
    ids: dict[int, int] = {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(payload)) as source, zipfile.ZipFile(out, "w") as target:
        schema = _renumber(json.loads(source.read("schema.json")), ids)
        entries = {"schema.json": json.dumps(schema, indent=2, sort_keys=True).encode()}
        for name in source.namelist():
            if _NPY.match(name):
                entries[f"{ids[int(name[:-4])]}.npy"] = source.read(name)
            elif name != "schema.json":
                entries[name] = source.read(name)
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, entries[name])
    return out.getvalue()


def trusted_types(types: Collection[str], trusted_modules: Collection[str] = ()) -> set[str]:
    """Which of ``types`` (skops' dotted type names) a model may hold: :data:`TRUSTED_TYPES`,
    and the types under one of ``trusted_modules`` (a module or a package above it).

    Examples
    --------
    >>> sorted(trusted_types(["sklearn.tree._tree.Tree", "fractions.Fraction"], ["sklearn.tree"]))
    ['sklearn.tree._tree.Tree']
    """
    prefixes = tuple(m + "." for m in trusted_modules)
    return {t for t in types if t in TRUSTED_TYPES or t.startswith(prefixes)}


def check_model_types(path: Path, *, trusted_modules: Collection[str] = ()) -> None:
    """Refuse a freshly saved model that :func:`load_model` would not load again.

    Raises
    ------
    ModelTypesNotAllowed
        The file holds types outside :data:`TRUSTED_TYPES` and ``trusted_modules``; the
        error names their modules, for the operator's allow-list.
    """
    found = set(_skops().get_untrusted_types(file=path))
    untrusted = sorted(found - trusted_types(found, trusted_modules))
    if untrusted:
        modules = sorted({_public_module(t) for t in untrusted})
        raise ModelTypesNotAllowed(untrusted, modules)


def _public_module(type_name: str) -> str:
    """The public module above a type: ``sklearn.tree`` for ``sklearn.tree._tree.Tree``."""
    parts = type_name.split(".")[:-1]
    public = list(itertools.takewhile(lambda part: not part.startswith("_"), parts))
    return ".".join(public or parts[:1])


def load_model(path: Path, *, expected_hash: str, trusted_modules: Collection[str] = ()) -> Any:
    """Load a skops model after checking its hash and the types it holds.

    ``trusted_modules`` is the operator's estimator allow-list (``FAIRGOV_ESTIMATOR_MODULES``):
    types under those modules are trusted besides :data:`TRUSTED_TYPES`.

    Raises
    ------
    ModelFileMissing
        There is no file at ``path``.
    ModelHashMismatch
        The file's sha256 differs from ``expected_hash``.
    UntrustedModelType
        The file holds a type outside :data:`TRUSTED_TYPES` and ``trusted_modules``.

    Examples
    --------
    >>> model = load_model(path, expected_hash=version.model_hash)  # doctest: +SKIP
    """
    try:
        actual = file_sha256(path)
    except OSError:
        raise ModelFileMissing(str(path)) from None
    if actual != expected_hash.lower():
        raise ModelHashMismatch(str(path), expected_hash, actual)
    found = set(_skops().get_untrusted_types(file=path))
    trusted = trusted_types(found, trusted_modules)
    untrusted = sorted(found - trusted)
    if untrusted:
        raise UntrustedModelType(str(path), untrusted)
    return _skops().load(path, trusted=sorted(trusted | TRUSTED_TYPES))
