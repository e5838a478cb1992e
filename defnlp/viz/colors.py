"""Colours and CSS class names of entity labels.

The twelve labels of ``defence-v1`` have fixed colours; any other label (a custom scheme, a
corpus' own labels) gets a colour derived from a hash of its name, the same in every report
and on every machine.

>>> label_color("PER")
'#4e79a7'
>>> label_color("Vehicle") == label_color("Vehicle")
True
>>> label_class("PER"), label_class("<b>")[:3]
('l-PER', 'lx-')
"""

from __future__ import annotations

import colorsys
import hashlib
import re

__all__ = ["DEFENCE_V1_COLORS", "label_class", "label_color", "label_css"]

#: fixed colours of the defence-v1 entity labels
DEFENCE_V1_COLORS: dict[str, str] = {
    "PER": "#4e79a7",
    "ORG": "#f28e2b",
    "LOC": "#59a14f",
    "NAT": "#76b7b2",
    "DATE": "#9c755f",
    "MONEY": "#edc948",
    "QUANTITY": "#79706e",
    "WEAPON": "#e15759",
    "PLATFORM": "#b07aa1",
    "PROGRAMME": "#ff9da7",
    "DOCUMENT": "#17becf",
    "ROLE": "#bcbd22",
}

_SAFE_CLASS = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def _digest(label: str) -> str:
    return hashlib.sha256(label.encode("utf-8", errors="surrogatepass")).hexdigest()


def label_color(label: str) -> str:
    """The ``#rrggbb`` colour of an entity label (fixed for defence-v1, hashed otherwise)."""
    if label in DEFENCE_V1_COLORS:
        return DEFENCE_V1_COLORS[label]
    digest = int(_digest(label)[:8], 16)
    hue = (digest % 360) / 360.0
    lightness = 0.45 + ((digest >> 9) % 16) / 100.0  # 0.45 .. 0.60
    saturation = 0.55 + ((digest >> 13) % 25) / 100.0  # 0.55 .. 0.79
    red, green, blue = colorsys.hls_to_rgb(hue, lightness, saturation)
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


def label_class(label: str) -> str:
    """A CSS class for a label: ``l-LABEL`` when the label is a safe name, ``lx-<hash>`` otherwise."""
    if _SAFE_CLASS.match(label):
        return f"l-{label}"
    return f"lx-{_digest(label)[:12]}"


def label_css(labels: list[str] | tuple[str, ...] | set[str], root: str = ".dnv") -> str:
    """CSS rules that colour ``labels`` (and hide them when the legend switches them off)."""
    rules = []
    for label in sorted(set(labels)):
        cls = label_class(label)
        rules.append(f"{root} .{cls}{{--c:{label_color(label)}}}")
        rules.append(f"{root}.off-{cls} .ent.{cls}{{--c:transparent;background:none}}")
        rules.append(f"{root}.off-{cls} .ent.{cls}::after{{display:none}}")
    return "\n".join(rules)
