"""What is happening at the airport at prediction time: the operational features.

One definition for both environments: `definitions` names the features and the prediction time,
`offline` computes them point-in-time from departure events (training, batch, the replay),
`store` keeps the same events in Redis and reads the same values at request time (serving).
Imports only numpy and pandas at module level (redis is imported where the store is used), and
none of the project's other packages.
"""
