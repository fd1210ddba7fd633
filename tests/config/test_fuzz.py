"""Property: however a valid config is mangled, loading it raises nothing but ConfigError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kektrade.config import ConfigError, KektradeConfig, load_config, parse_config

FULL_EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "full_example.json"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _containers(node: Any, found: list[Any]) -> list[Any]:
    if isinstance(node, dict | list):
        found.append(node)
        for child in node.values() if isinstance(node, dict) else node:
            _containers(child, found)
    return found


@st.composite
def mutated_configs(draw: st.DrawFn) -> str:
    data = json.loads(FULL_EXAMPLE.read_text())
    data["subaccounts"].append({"id": "inv", "strategy": "S", "pair": "BTC/USD:BTC", "initial_balance": 1})
    for _ in range(draw(st.integers(1, 4))):
        target = draw(st.sampled_from(_containers(data, [])))
        action = draw(st.sampled_from(["delete", "insert", "replace"]))
        if isinstance(target, dict):
            keys = sorted(target)
            if action == "insert" or not keys:
                target[draw(st.text(max_size=10))] = draw(json_values)
            elif action == "delete":
                del target[draw(st.sampled_from(keys))]
            else:
                target[draw(st.sampled_from(keys))] = draw(json_values)
        elif target:
            index = draw(st.integers(0, len(target) - 1))
            if action == "delete":
                del target[index]
            else:
                target[index] = draw(json_values)
    text = json.dumps(data)
    if draw(st.booleans()) and draw(st.booleans()):  # break the JSON text a quarter of the time
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["", ",", "}", "[", '"', "NaN", "\x00"])) + text[cut + 1 :]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_configs())
def test_mutations_only_ever_raise_config_error(text: str) -> None:
    try:
        config = parse_config(text, source="fuzz.json")
    except ConfigError as exc:
        assert exc.errors and all(isinstance(line, str) and line for line in exc.errors)
    else:
        assert isinstance(config, KektradeConfig)


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=40))
def test_arbitrary_bytes_in_a_file(tmp_path_factory: Any, blob: bytes) -> None:
    path = Path(tmp_path_factory.mktemp("fuzz")) / "c.json"
    path.write_bytes(blob)
    try:
        config = load_config(path)
    except ConfigError as exc:
        assert exc.errors
    else:  # a few bytes can't make a config with subaccounts
        raise AssertionError(f"accepted {blob!r} as {config}")
