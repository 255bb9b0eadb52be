"""HTML of a figure or a table through the deck-standard renderers: what every deck module uses."""

from __future__ import annotations

import io

import pandas as pd
from flytekitplugins.deck.renderer import ImageRenderer, TableRenderer


def image_html(png: bytes) -> str:
    import PIL.Image

    return ImageRenderer().to_html(PIL.Image.open(io.BytesIO(png)))


def table_html(frame: pd.DataFrame) -> str:
    return TableRenderer().to_html(frame)
