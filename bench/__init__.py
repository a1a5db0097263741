"""Benchmarks of Экспо CRM and their data generator; run with `make bench` (`python -m bench`)."""
