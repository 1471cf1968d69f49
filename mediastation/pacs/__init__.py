"""The archive over the network (pynetdicom), plus the local-folder archive used as embedded default."""
