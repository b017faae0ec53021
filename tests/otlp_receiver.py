"""A real OTLP receiver for tests: HTTP/protobuf or gRPC on 127.0.0.1, decoding each request.

The HTTP side is an ``http.server`` that decodes the opentelemetry-proto Export*ServiceRequest
bodies (gzip or not); the gRPC side is a ``grpcio`` server implementing the collector's
Trace/Logs/Metrics services. Both keep every decoded request and offer plain views of what
arrived (spans, log records, metrics). The receiver starts on port 0 (any free port) or on a
given one, e.g. a port that an exporter has been failing to reach, and can be stopped.

Modes for a sick or picky backend: ``delay`` answers each request after that many seconds,
``black_hole`` never answers (until stopped), ``refuse`` maps a signal to an HTTP status the
receiver answers it with (404, 401, 403; over gRPC: UNIMPLEMENTED, UNAUTHENTICATED,
PERMISSION_DENIED), as a traces-only backend such as Jaeger or an authenticating one would.
The headers (HTTP) or metadata (gRPC) of each request are kept in ``headers``.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

HTTP_SIGNALS = {
    "/v1/traces": (
        "traces",
        trace_service_pb2.ExportTraceServiceRequest,
        trace_service_pb2.ExportTraceServiceResponse,
    ),
    "/v1/logs": (
        "logs",
        logs_service_pb2.ExportLogsServiceRequest,
        logs_service_pb2.ExportLogsServiceResponse,
    ),
    "/v1/metrics": (
        "metrics",
        metrics_service_pb2.ExportMetricsServiceRequest,
        metrics_service_pb2.ExportMetricsServiceResponse,
    ),
}


def any_value(value):
    """A Python value for an OTLP AnyValue."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return key_values(value.kvlist_value.values)
    return getattr(value, kind)


def key_values(pairs):
    """A dict for a repeated OTLP KeyValue."""
    return {pair.key: any_value(pair.value) for pair in pairs}


GRPC_REFUSALS = {
    404: grpc.StatusCode.UNIMPLEMENTED,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
}


def closed_port():
    """A loopback port with nothing listening on it (yet)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OtlpReceiver:
    """An OTLP receiver on 127.0.0.1 (HTTP/protobuf or gRPC) that keeps the decoded requests.

    ``port=0`` binds any free port (read ``port`` or ``endpoint`` after ``start()``); a given
    port must be bound exactly. Also a context manager: started on entry, stopped on exit.
    """

    def __init__(self, protocol, port=0, *, delay=0.0, black_hole=False, refuse=None):
        self.protocol = protocol
        self.port = port
        self.delay = delay
        self.black_hole = black_hole
        self.refuse = dict(refuse or {})
        self.requests = {"traces": [], "logs": [], "metrics": []}
        self.headers = {"traces": [], "logs": [], "metrics": []}
        self._lock = threading.Lock()
        self._server = None
        self._stopped = threading.Event()
        self._connections = set()

    def _answer_late(self):
        """Hold the request as the mode says: ``delay`` seconds, or until stopped."""
        if self.black_hole:
            self._stopped.wait()
        elif self.delay:
            self._stopped.wait(self.delay)

    def _keep_headers(self, signal, headers):
        with self._lock:
            self.headers[signal].append(dict(headers))

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def record(self, signal, request):
        with self._lock:
            self.requests[signal].append(request)

    def start(self):
        self._stopped.clear()
        if self.protocol == "grpc":
            self._start_grpc()
        else:
            self._start_http()
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def _start_http(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with receiver._lock:
                    receiver._connections.add(self.connection)

            def finish(self):
                with receiver._lock:
                    receiver._connections.discard(self.connection)
                super().finish()

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                found = HTTP_SIGNALS.get(self.path)
                if found is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                signal, request_type, response_type = found
                receiver._keep_headers(signal, {k.lower(): v for k, v in self.headers.items()})
                receiver._answer_late()
                if receiver.black_hole:
                    return  # stopped: the client gave up long ago
                if signal in receiver.refuse:
                    self.send_response(receiver.refuse[signal])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                request = request_type()
                request.ParseFromString(body)
                receiver.record(signal, request)
                payload = response_type().SerializeToString()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/x-protobuf")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # a late answer (``delay``) to a client that stopped waiting

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def _start_grpc(self):
        receiver = self

        def serve(signal, request, context, response_type):
            receiver._keep_headers(signal, context.invocation_metadata())
            receiver._answer_late()
            if signal in receiver.refuse:
                context.abort(GRPC_REFUSALS[receiver.refuse[signal]], f"{signal} refused")
            receiver.record(signal, request)
            return response_type()

        class Traces(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request, context):
                return serve(
                    "traces", request, context, trace_service_pb2.ExportTraceServiceResponse
                )

        class Logs(logs_service_pb2_grpc.LogsServiceServicer):
            def Export(self, request, context):
                return serve("logs", request, context, logs_service_pb2.ExportLogsServiceResponse)

        class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
            def Export(self, request, context):
                return serve(
                    "metrics", request, context, metrics_service_pb2.ExportMetricsServiceResponse
                )

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        # A refused signal that is UNIMPLEMENTED has no service at all, as on a traces-only
        # backend; the others answer their status from the handler.
        services = (
            ("traces", trace_service_pb2_grpc.add_TraceServiceServicer_to_server, Traces),
            ("logs", logs_service_pb2_grpc.add_LogsServiceServicer_to_server, Logs),
            ("metrics", metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server, Metrics),
        )
        for signal, add, servicer in services:
            if self.refuse.get(signal) != 404:
                add(servicer(), server)
        port = server.add_insecure_port(f"127.0.0.1:{self.port}")
        assert 0 != port, f"could not bind a gRPC receiver to 127.0.0.1:{self.port}"
        assert self.port in (0, port), f"gRPC receiver bound port {port}, not {self.port}"
        self.port = port
        server.start()
        self._server = server

    def stop(self):
        self._stopped.set()
        if self._server is None:
            return
        if self.protocol == "grpc":
            self._server.stop(grace=None).wait(5)
        else:
            self._server.shutdown()
            self._server.server_close()
            # Kept-alive connections would go on being served: a stopped receiver is down.
            with self._lock:
                connections, self._connections = list(self._connections), set()
            for connection in connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        self._server = None

    # decoded views

    def _items(self, signal, resources, scopes, items):
        """(resource attributes, scope name, item) for every item of every ``signal`` request."""
        with self._lock:
            requests = list(self.requests[signal])
        for request in requests:
            for resource_group in getattr(request, resources):
                resource = key_values(resource_group.resource.attributes)
                for scope_group in getattr(resource_group, scopes):
                    for item in getattr(scope_group, items):
                        yield resource, scope_group.scope.name, item

    def spans(self):
        return [
            SimpleNamespace(
                name=span.name,
                trace_id=span.trace_id.hex(),
                span_id=span.span_id.hex(),
                parent_span_id=span.parent_span_id.hex(),
                attributes=key_values(span.attributes),
                events=[(e.name, key_values(e.attributes)) for e in span.events],
                status_code=span.status.code,
                status_message=span.status.message,
                kind=span.kind,
                start_time=span.start_time_unix_nano,
                end_time=span.end_time_unix_nano,
                links=[(link.trace_id.hex(), link.span_id.hex()) for link in span.links],
                resource=resource,
                scope=scope,
            )
            for resource, scope, span in self._items(
                "traces", "resource_spans", "scope_spans", "spans"
            )
        ]

    def spans_of_run(self, flow_id):
        """The names of the spans whose cicd.pipeline.run.id is ``flow_id``."""
        return {
            span.name
            for span in self.spans()
            if span.attributes.get("cicd.pipeline.run.id") == flow_id
        }

    def log_records(self):
        return [
            SimpleNamespace(
                body=any_value(record.body),
                severity_number=record.severity_number,
                severity_text=record.severity_text,
                trace_id=record.trace_id.hex(),
                span_id=record.span_id.hex(),
                attributes=key_values(record.attributes),
                resource=resource,
            )
            for resource, _scope, record in self._items(
                "logs", "resource_logs", "scope_logs", "log_records"
            )
        ]

    def metrics(self):
        found = []
        for resource, _scope, metric in self._items(
            "metrics", "resource_metrics", "scope_metrics", "metrics"
        ):
            kind = metric.WhichOneof("data")
            points = []
            for point in getattr(metric, kind).data_points:
                if kind == "histogram":
                    value = (point.count, point.sum)
                else:
                    value = getattr(point, point.WhichOneof("value"))
                points.append((key_values(point.attributes), value))
            found.append(
                SimpleNamespace(
                    name=metric.name, unit=metric.unit, kind=kind, points=points, resource=resource
                )
            )
        return found
