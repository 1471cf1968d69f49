"""The transfer wing: electronic release and register copy (R5, R6, R15, R17).

`types` is the floor; `retrieve`, `store`, `verify`, `record` one module per stage; `pipeline` the
order and the job (the same shape as workflows/export/).
"""

from mediastation.workflows.transfer.pipeline import SendOptions, enqueue_transfer, run_send, run_transfer_job
from mediastation.workflows.transfer.types import TransferEnvironment, TransferIncomplete, TransferRefused

__all__ = ["SendOptions", "TransferEnvironment", "TransferIncomplete", "TransferRefused", "enqueue_transfer",
           "run_send", "run_transfer_job"]
