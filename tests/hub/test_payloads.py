"""Raw payloads are exact JSON of what was received, however the page was built."""

from __future__ import annotations

import json

import pandas as pd

from hub.collect.payloads import json_lines, sha256s

AWKWARD = ["浙罚〔2026〕1号", 'a"b', "back\\slash", "line\nbreak\ttab\rret", "bell\x07", "", None]


def test_text_frames_become_the_same_json_as_the_standard_library_writes() -> None:
    frame = pd.DataFrame({"文号": AWKWARD, 'we"ird key': list("abcdefg")}, dtype="str")
    lines = json_lines(frame.iloc[:5])  # no other control characters: the Arrow path
    assert [json.loads(line) for line in lines] == frame.iloc[:5].astype(object).where(
        frame.iloc[:5].notna(), None
    ).to_dict("records")
    assert lines[1] == json.dumps(
        {"文号": 'a"b', 'we"ird key': "b"}, ensure_ascii=False, separators=(",", ":")
    )


def test_control_characters_and_missing_values_round_trip() -> None:
    frame = pd.DataFrame({"v": AWKWARD}, dtype="str")
    decoded = [json.loads(line)["v"] for line in json_lines(frame)]
    assert decoded == [
        "浙罚〔2026〕1号",
        'a"b',
        "back\\slash",
        "line\nbreak\ttab\rret",
        "bell\x07",
        "",
        None,
    ]


def test_mixed_frames_keep_numbers_as_numbers() -> None:
    frame = pd.DataFrame({"amount": [2000, None], "name": ["x", None]}, dtype=object)
    assert [json.loads(line) for line in json_lines(frame)] == [
        {"amount": 2000, "name": "x"},
        {"amount": None, "name": None},
    ]
    assert sha256s(["{}"]) == ["44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"]
