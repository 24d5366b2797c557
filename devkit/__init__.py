"""Helpers the tests and the benchmarks share: real services on loopback, drawn digits, tiny models, load tools."""
