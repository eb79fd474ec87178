"""Speaker and expression markup in Fish TTS text.

Fish text may carry ``<|speaker:N|>`` turns, S1-style ``(happy)`` emotion tags from a
fixed vocabulary and S2-style ``[whispering, slowly]`` free-form cues. They steer the
voice and are never spoken. This module parses them out; what they *do* belongs to
the voices layer.

Only parentheses whose content is in the S1 vocabulary are tags: "(see above)" is
ordinary text and is spoken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

S1_TAGS = frozenset(
    [
        "happy",
        "sad",
        "angry",
        "excited",
        "calm",
        "nervous",
        "confident",
        "surprised",
        "satisfied",
        "delighted",
        "scared",
        "worried",
        "upset",
        "frustrated",
        "depressed",
        "empathetic",
        "embarrassed",
        "disgusted",
        "moved",
        "proud",
        "relaxed",
        "grateful",
        "curious",
        "sarcastic",
        "disdainful",
        "unhappy",
        "anxious",
        "hysterical",
        "indifferent",
        "uncertain",
        "doubtful",
        "confused",
        "disappointed",
        "regretful",
        "guilty",
        "ashamed",
        "jealous",
        "envious",
        "hopeful",
        "optimistic",
        "pessimistic",
        "nostalgic",
        "lonely",
        "bored",
        "contemptuous",
        "sympathetic",
        "compassionate",
        "determined",
        "resigned",
        "impatient",
        "scornful",
        "panicked",
        "furious",
        "reluctant",
        "keen",
        "disapproving",
        "negative",
        "denying",
        "astonished",
        "serious",
        "conciliative",
        "comforting",
        "sincere",
        "sneering",
        "hesitating",
        "yielding",
        "painful",
        "awkward",
        "amused",
        "shouting",
        "screaming",
        "whispering",
        "laughing",
        "chuckling",
        "sobbing",
        "sighing",
        "groaning",
        "panting",
        "gasping",
        "yawning",
        "snoring",
        "break",
        "long-break",
    ]
) | frozenset(
    {
        "in a hurry tone",
        "soft tone",
        "crying loudly",
        "audience laughing",
        "background laughter",
        "crowd laughing",
    }
)

_TOKEN = re.compile(
    r"<\|speaker:(?P<speaker>\d+)\|>"  # speaker turn
    r"|\[(?P<cue>[^\[\]\n]{1,80})\]"  # S2 cue: free-form, short, single line
    r"|\((?P<paren>[^()\n]{1,40})\)"  # maybe an S1 tag
)


@dataclass(slots=True)
class Segment:
    """A run of text spoken by one speaker with the expressions in force."""

    text: str
    speaker: int | None = None
    expressions: tuple[str, ...] = field(default_factory=tuple)


def _is_tag(match: re.Match[str]) -> bool:
    return match["paren"] is None or match["paren"].strip().lower() in S1_TAGS


def parse(text: str) -> list[Segment]:
    """Split ``text`` into segments, removing every tag.

    Tags written together apply to the text that follows them, until the next tag
    or speaker turn. Empty segments are dropped.
    """
    segments: list[Segment] = []
    speaker: int | None = None
    expressions: list[str] = []
    pieces: list[str] = []

    def close() -> None:
        spoken = "".join(pieces)
        if spoken.strip():
            segments.append(Segment(spoken, speaker, tuple(expressions)))
        pieces.clear()

    position = 0
    for match in _TOKEN.finditer(text):
        if not _is_tag(match):
            continue  # ordinary parenthesised text: keep it in the flow
        pieces.append(text[position : match.start()])
        position = match.end()
        if match["speaker"] is not None:
            close()
            speaker = int(match["speaker"])
            expressions = []
        else:
            if "".join(pieces).strip():
                close()
                expressions = []
            cue = match["cue"] if match["cue"] is not None else match["paren"]
            expressions.extend(part.strip().lower() for part in cue.split(",") if part.strip())
            pieces.append(" ")
    pieces.append(text[position:])
    close()
    return segments


def in_force_after(text: str) -> str:
    """The speaker turn and expressions in force at the end of ``text``, as tags to put before the
    text that follows (a stream's next piece), or "" when none are."""
    segments = parse(text)
    if not segments:  # tags alone: all of them stay in force
        return "".join(match[0] for match in _TOKEN.finditer(text) if _is_tag(match))
    last = segments[-1]
    turn = f"<|speaker:{last.speaker}|>" if last.speaker is not None else ""
    return turn + (f"[{', '.join(last.expressions)}]" if last.expressions else "")


def strip(text: str) -> str:
    """The spoken text alone."""
    return " ".join(segment.text.strip() for segment in parse(text))
