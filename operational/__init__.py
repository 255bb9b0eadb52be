"""Online features at prediction time, declared once: the declarations and their rules
(`declarations`), the time units (`definitions`), the offline point-in-time columns derived from
the declarations (`offline`) and the online store in Redis whose ingestion, lookup and decode are
derived from the same declarations (`store`), read at request time (serving).

A use case declares its online features (in its package's `operational.py`); nothing
here names one. Imports only numpy and pandas at module level (redis is imported where the store
is used), and none of the project's other packages: the serving image holds this package and no
use case, and reads the declarations from the bundle.
"""
