"""Online features at prediction time: the time units (`definitions`), vectorized point-in-time
gathers (`offline`) and the online store in Redis (`store`), read at request time (serving).

A use case computes its own features offline with these pieces (for example
`usecases.flights.operational`); a parity test proves the store reads the same values.
Imports only numpy and pandas at module level (redis is imported where the store is used), and
none of the project's other packages: the serving image holds this package and no use case.
"""
