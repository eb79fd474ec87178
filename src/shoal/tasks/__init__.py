"""Asynchronous tasks: a durable queue in the database, workers in every process, signed callbacks."""
