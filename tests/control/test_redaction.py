"""scrub: secrets replaced in every string of a snapshot-like value; untouched parts keep their identity."""

from __future__ import annotations

from kektrade.control.redaction import RedactedError, scrub, scrub_error
from kektrade.engine.snapshot import ChartData, EngineSnapshot, Progress, SubaccountRow


def redact(text: str) -> str:
    return text.replace("SECRET", "***") if "SECRET" in text else text


def row(error: str | None) -> SubaccountRow:
    return SubaccountRow("a", "sim", "BTC/USDT:USDT", "S", {"p": 1}, "failed", 0.0, 0, 0, 0, 0, 1, 1, "USDT", error)


def test_scrub_replaces_nested_strings_and_keeps_clean_parts() -> None:
    chart = ChartData((1, 2), (1.0, 2.0), (1.0, 2.0), (1.0, 2.0), (1.0, 2.0), (("sma", True, (1.0, 2.0)),))
    snap = EngineSnapshot(
        "r", "live", False, "running", 0, Progress(0, 0, 0.0, None, 0.0),
        subaccounts=(row("ValueError: key SECRET invalid"), row(None)),
        charts={"a": chart}, leaderboards={"a": [({"note": "SECRET"}, 1.0)]}, message="ok",
    )  # fmt: skip
    clean = scrub(snap, redact)
    assert clean.subaccounts[0].error == "ValueError: key *** invalid"
    assert clean.leaderboards == {"a": [({"note": "***"}, 1.0)]}
    assert clean.subaccounts[1] is snap.subaccounts[1] and clean.charts["a"] is chart
    assert snap.subaccounts[0].error == "ValueError: key SECRET invalid"  # the original is not modified
    untouched = EngineSnapshot("r", "live", False, "running", 0, Progress(0, 0, 0.0, None, 0.0))
    assert scrub(untouched, redact) is untouched


def test_scrub_error_keeps_clean_errors_and_replaces_leaking_ones() -> None:
    clean = ValueError("nothing to hide")
    assert scrub_error(clean, redact) is clean
    leaking = scrub_error(PermissionError("bad key SECRET"), redact)
    assert isinstance(leaking, RedactedError) and str(leaking) == "PermissionError: bad key ***"
    assert leaking.__cause__ is None and "SECRET" not in repr(leaking)
