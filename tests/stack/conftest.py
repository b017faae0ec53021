"""Session fixtures for the stack tests: real servers on free 127.0.0.1 ports (see servers.py)."""

from .servers import collector, jaeger, prometheus, run_flows, sink, stack_logs

__all__ = ["collector", "jaeger", "prometheus", "run_flows", "sink", "stack_logs"]
