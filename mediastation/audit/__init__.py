"""The audit trail to the hospital's audit repository (IHE ATNA, DICOM PS3.15 Annex A.5).

    messages.py  DICOM audit messages (PS3.15 A.5.1 schema, A.5.3 events) as XML: pure values
    syslog.py    RFC 5424 messages, sent over TLS (RFC 5425) or UDP (RFC 5426)
    outbox.py    the durable outbox: messages written in the same transaction as what they describe
    trail.py     the station's events as messages into the outbox (every disclosure entry included)
    sender.py    the outbox to the repository, in order and once, with back-off while it is down
    background.py  the thread that keeps sending while `worker` or `serve` runs
    anchors.py   the disclosure log's chain values as the repository holds them (`log verify --against`)
"""
