"""Visibility's online feature, declared: the station's lowest visibility of the last 6 hours,
served from the online store at request time and computed offline from the same declaration
(`operational.offline.point_in_time`; `operational.store` derives the store's lookup from it).

The events are the station readings themselves, as the station's feed delivers them; a reading's
features are as of its own time (horizon 0): the reading is in the store before it is scored.
"""

from __future__ import annotations

import pandas as pd

from operational.declarations import EventStream, OnlineFeature
from usecases.visibility.schemas import STATION, TIMESTAMP

HORIZON_MINUTES = 0  # a reading is scored as soon as it is in
RECENT_MINUTES = 6 * 60
VISIB_MIN_6H = "visib_min_6h"

EVENT_KEY = "reading_id"
EVENT_COLUMNS = [EVENT_KEY, STATION, TIMESTAMP, "visib"]
# One watermark per station: how far its readings have come.
STREAM = EventStream(key=EVENT_KEY, watermark=TIMESTAMP, partition=STATION)
DECLARED = (
    # the lowest visibility of the station's readings in (t - 6 h, t]
    OnlineFeature(
        VISIB_MIN_6H,
        entity=STATION,
        time=TIMESTAMP,
        aggregation="min",
        value="visib",
        window_minutes=RECENT_MINUTES,
    ),
)


def reading_events(readings: pd.DataFrame) -> pd.DataFrame:
    """The events of station readings (`EVENT_COLUMNS`), keyed as the feature table's rows."""
    observed = pd.to_datetime(readings[TIMESTAMP])
    return pd.DataFrame(
        {
            EVENT_KEY: readings[STATION].astype(str) + "_" + observed.dt.strftime("%Y-%m-%dT%H:%M"),
            STATION: readings[STATION].astype(str),
            TIMESTAMP: observed,
            "visib": readings["visib"].astype("float64"),
        },
        index=readings.index,
    )
