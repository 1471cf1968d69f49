"""One job engine for every pipeline: the job model, the queue with leases, the runner, the worker.

`model` the values, `queue` the table as a queue (claiming, leases, saving), `runner` the stages
of a job in order with its lease kept alive, `worker` the loop of `mediastation worker`.
"""
