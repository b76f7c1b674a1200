"""Property-based fuzzing of the model manifest loader: only raveview errors escape."""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raveview.core.errors import ModelError, RaveviewError
from raveview.ml.bundle import ModelBundle, demo_bundle_path

pytestmark = pytest.mark.skipif(not (demo_bundle_path() / "manifest.json").is_file(), reason="no demo bundle")

_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                     max_leaves=12)


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory):
    target = tmp_path_factory.mktemp("fuzz") / "bundle"
    shutil.copytree(demo_bundle_path(), target)
    return target


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


def _load(bundle_dir, text: bytes):
    (bundle_dir / "manifest.json").write_bytes(text)
    try:
        bundle = ModelBundle.load(bundle_dir)
        # the descriptive properties the GUI and CLI read must not crash either
        bundle.summary()
        _ = bundle.grid, bundle.label_ranges, bundle.label_order
    except RaveviewError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_manifest(bundle_dir, data):
    original = json.loads((demo_bundle_path() / "manifest.json").read_text())
    paths = [p for p in _paths(original) if p]
    path = data.draw(st.sampled_from(paths))
    manifest = json.loads(json.dumps(original))
    node = manifest
    for key in path[:-1]:
        node = node[key]
    if data.draw(st.booleans()):
        node[path[-1]] = data.draw(_JSON)
    elif isinstance(node, dict):
        del node[path[-1]]
    else:
        node.pop(path[-1])
    _load(bundle_dir, json.dumps(manifest).encode())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200) | _JSON.map(lambda v: json.dumps(v).encode()))
def test_random_manifest(bundle_dir, raw):
    _load(bundle_dir, raw)


def test_restored_manifest_still_loads(bundle_dir):
    shutil.copy(demo_bundle_path() / "manifest.json", bundle_dir / "manifest.json")
    assert ModelBundle.load(bundle_dir).verify() > 0
    with pytest.raises(ModelError):
        _load_raise(bundle_dir)


def _load_raise(bundle_dir):
    (bundle_dir / "manifest.json").write_text('{"format": "raveview-model", "format_version": 1}')
    ModelBundle.load(bundle_dir)
