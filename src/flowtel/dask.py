"""DaskTaskRunner: a flow's submitted tasks run on a Dask cluster, in the flow's trace.

``pip install 'flowtel[dask]'``; ``import flowtel`` never imports dask, this module does.

    from flowtel import flow, task
    from flowtel.dask import DaskTaskRunner

    @flow(task_runner=DaskTaskRunner(address="tcp://scheduler:8786"))
    def nightly(days): return sum(load.map(days).result())

Each ``submit``/``map`` sends the call to a worker with the W3C trace context of the span
current at submit and a snapshot of the flow (name, run id, config, a copy of
``flow_data``). The worker runs the task's whole lifecycle: its span (a child of that
span), messages as span events and log records, retries and timeouts; it flushes its
span and log providers, then returns the result with the task's journal, which the flow
process replays into the run (log, ``executed_tasks``, artifacts, results, events). See
``flowtel._remote`` for the seam and the README for what travels and what does not.

Workers export their own telemetry: a worker with OTel providers of its own (its own
``flowtel.configure()``, ``opentelemetry-instrument``) keeps them; one with
``OTEL_EXPORTER_OTLP_ENDPOINT`` in its environment is configured from it; any other is
configured with the flow process's ``flowtel.configure()`` settings, through a worker
plugin registered by the runner.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

import distributed
from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ._context import current_flow
from ._futures import TaskRunFuture, TaskRunner
from ._remote import (
    RemoteTaskError,
    SealedOutcome,
    TaskOutcome,
    allow_pickling_task_functions_by_value,
    replay,
    run_sealed,
    snapshot,
)
from ._run import STATUS_CANCELLED, error_text, new_run_id
from .telemetry import _configure
from .telemetry._runtime import RUNTIME

__all__ = ["DaskTaskRunner", "FlowtelWorkerPlugin", "RemoteTaskError", "configure_worker"]

_propagator = TraceContextTextMapPropagator()
allow_pickling_task_functions_by_value()


class DaskTaskRunner(TaskRunner):
    """Runs a flow's submitted tasks on Dask workers (``prefect_dask.DaskTaskRunner``'s shape).

    ``address``: an existing scheduler (``"tcp://scheduler:8786"``), else each flow run
    starts a temporary cluster of ``cluster_class`` (default ``distributed.LocalCluster``,
    or a dotted name) with ``cluster_kwargs`` when the run starts, made adaptive with
    ``adapt_kwargs`` if given, and closes it when the run ends (completed, failed, timed
    out or cancelled). ``client_kwargs`` go to ``distributed.Client``; a run with an
    ``address`` connects when it starts too, and runs with the same ``address`` share one
    client per process (closed at exit). Each flow run gets its own runner
    (``duplicate()``); submissions may come from any thread of the run.
    """

    remote = True
    starts_with_run = True

    def __init__(
        self,
        address: str | None = None,
        cluster_class: str | Callable[..., Any] | None = None,
        cluster_kwargs: dict[str, Any] | None = None,
        adapt_kwargs: dict[str, Any] | None = None,
        client_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if address is not None and (not isinstance(address, str) or not address):
            raise TypeError(
                f"address must be a scheduler address such as 'tcp://scheduler:8786', got "
                f"{address!r}"
            )
        if address is not None and (cluster_class is not None or cluster_kwargs):
            raise ValueError(
                "give either address= (an existing scheduler) or cluster_class=/cluster_kwargs= "
                "(a temporary cluster), not both"
            )
        if cluster_class is not None and not (
            isinstance(cluster_class, str) or callable(cluster_class)
        ):
            raise TypeError(
                "cluster_class must be a cluster class or its dotted name such as "
                f"'dask_kubernetes.KubeCluster', got {cluster_class!r}"
            )
        for name, value in (
            ("cluster_kwargs", cluster_kwargs),
            ("adapt_kwargs", adapt_kwargs),
            ("client_kwargs", client_kwargs),
        ):
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"{name} must be a dict of keyword arguments, got {value!r}")
        self.address = address
        self.cluster_class = cluster_class
        self.cluster_kwargs = dict(cluster_kwargs or {})
        self.adapt_kwargs = dict(adapt_kwargs or {})
        self.client_kwargs = dict(client_kwargs or {})
        self._lock = threading.Lock()
        self._replay_lock = threading.Lock()
        self._client: Any = None
        self._cluster: Any = None
        self._bridges: list[concurrent.futures.Future] = []
        self._waiting: dict[Any, tuple[concurrent.futures.Future, Any]] = {}
        self._completed: Any = None  # a distributed.as_completed while results are pending

    def duplicate(self) -> DaskTaskRunner:
        """A runner with the same settings and no client yet (one per flow run)."""
        return type(self)(
            self.address,
            self.cluster_class,
            self.cluster_kwargs or None,
            self.adapt_kwargs or None,
            self.client_kwargs or None,
        )

    def start(self) -> None:
        """Start the temporary cluster, or connect to ``address`` (when the flow run starts)."""
        self.client  # noqa: B018 - connecting is the point

    @property
    def client(self) -> Any:
        """This run's ``distributed.Client`` (connects, or starts the cluster, on first use)."""
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._connect()
                client = self._client
        return client

    def _connect(self) -> Any:
        client_kwargs = {"set_as_default": False, **self.client_kwargs}
        plugin = FlowtelWorkerPlugin.for_this_process()
        if self.address is not None:
            return _shared_client(self.address, client_kwargs, plugin)
        cluster_class = _cluster_class(self.cluster_class)
        self._cluster = cluster = cluster_class(**self.cluster_kwargs)
        client = None
        try:
            if self.adapt_kwargs:
                cluster.adapt(**self.adapt_kwargs)
            client = distributed.Client(cluster, **client_kwargs)
            client.register_plugin(plugin, name="flowtel")
        except BaseException:
            # The run ends with this error; the cluster it started must not outlive it.
            self._cluster = None
            if client is not None:
                client.close()
            cluster.close()
            raise
        return client

    def submit_task(
        self, call: Callable[..., Any], task_name: str, args: tuple, kwargs: dict, is_async: bool
    ) -> TaskRunFuture:
        return self.submit_tasks(call, task_name, [(args, kwargs)], is_async)[0]

    def submit_tasks(
        self,
        call: Callable[..., Any],
        task_name: str,
        calls: list[tuple[tuple, dict]],
        is_async: bool,
    ) -> list[TaskRunFuture]:
        """Send the calls to the cluster in one message; one future per call."""
        client = self.client
        flow = current_flow.get()
        carrier: dict[str, str] = {}
        _propagator.inject(carrier)
        flow_snapshot = snapshot(flow)
        args_list = [tuple(_upstream(value) for value in args) for args, _ in calls]
        kwargs_list = [{k: _upstream(v) for k, v in kwargs.items()} for _, kwargs in calls]
        shared: Any = (call, carrier, flow_snapshot, is_async, task_name)
        try:
            if len(calls) > 1:
                # What every call of a map() shares goes to each worker once, not per call.
                shared = client.scatter([shared], broadcast=True, hash=False)[0]
            dask_futures = client.map(
                run_sealed,
                args_list,
                kwargs_list,
                shared=shared,
                key=[f"{task_name}-{new_run_id()}" for _ in calls],
                pure=False,
            )
        except Exception as error:
            culprit = _unpicklable(call, args_list, kwargs_list, flow_snapshot)
            if culprit is None:
                raise
            raise TypeError(
                f"task {task_name!r} cannot be sent to Dask: {culprit} cannot be pickled "
                f"({error.__class__.__name__}); pass plain data (or something the workers can "
                "rebuild it from)"
            ) from error
        futures: list[TaskRunFuture] = []
        bridges = []
        for dask_future in dask_futures:
            bridge: concurrent.futures.Future = concurrent.futures.Future()
            bridge.dask_future = dask_future  # type: ignore[attr-defined]
            bridges.append(bridge)
            futures.append(TaskRunFuture(bridge, task_name))
        with self._lock:
            self._bridges.extend(bridges)
            for dask_future, bridge in zip(dask_futures, bridges, strict=True):
                self._waiting[dask_future.key] = (bridge, flow)
            if self._completed is None:
                # One thread per run takes results as they come, in batches, fetched on
                # Dask's event loop: cheaper than a callback and a result() per future.
                self._completed = distributed.as_completed(
                    dask_futures, loop=client.loop, with_results=True, raise_errors=False
                )
                threading.Thread(
                    target=self._collect,
                    args=(self._completed,),
                    name="flowtel-dask-results",
                    daemon=True,
                ).start()
            else:
                self._completed.update(dask_futures)
        return futures

    def _collect(self, completed: Any) -> None:
        """Settle this run's futures as their results arrive; ends when none are pending."""
        while True:
            try:
                batch = completed.next_batch(block=True)
            except StopIteration:
                with self._lock:
                    if completed.is_empty():
                        if self._completed is completed:
                            self._completed = None
                        return
                continue
            for dask_future, result in batch:
                with self._lock:
                    found = self._waiting.pop(dask_future.key, None)
                if found is not None:
                    self._settle(dask_future, result, *found)

    def _settle(
        self, dask_future: Any, result: Any, bridge: concurrent.futures.Future, flow: Any
    ) -> None:
        """Replay the outcome's journal into the flow, then settle the run's future."""
        if bridge.done():
            return
        if dask_future.status == "cancelled":
            _cancel(bridge)
            return
        task_name = dask_future.key.rpartition("-")[0]
        if isinstance(result, SealedOutcome):
            try:
                result = result.open()
            except Exception as unpickling:
                result = RuntimeError(
                    f"the result of task {task_name!r} came back from its Dask worker but "
                    f"cannot be unpickled in the flow process ({type(unpickling).__name__}: "
                    f"{unpickling}); make what it returns or raises importable here too"
                )
                result.__cause__ = unpickling
        if not isinstance(result, TaskOutcome):  # the worker died, a value did not unpickle, ...
            failure = result if isinstance(result, BaseException) else RuntimeError(repr(result))
            _record_lost_call(flow, task_name, failure)
            _settled(bridge, None, failure)
            return
        outcome = result
        try:
            with self._replay_lock:
                replay(flow, outcome)
        except Exception:
            RUNTIME.internal_error("dask replay")
        error = outcome.error
        if error is None:
            _settled(bridge, outcome.value, None)
            return
        first = next(iter(outcome.tasks.values()), None)
        if first is not None and first.error is not None and first.worker_traceback:
            add_note = getattr(error, "add_note", None)
            if add_note is not None:
                add_note(f"flowtel: the task ran on a Dask worker:\n{first.worker_traceback}")
        _settled(bridge, None, error)

    def shutdown(self, wait: bool = True) -> None:
        """Wait for this run's tasks (or, when the run timed out or was cancelled, cancel
        the pending ones), then close the client and any temporary cluster."""
        with self._lock:
            client, self._client = self._client, None
            cluster, self._cluster = self._cluster, None
            bridges, self._bridges = self._bridges, []
            completed = self._completed
        if client is None:
            return
        flow = current_flow.get()
        if wait and (flow is None or flow.flow_status != STATUS_CANCELLED):
            concurrent.futures.wait(bridges)
        else:
            pending = [b.dask_future for b in bridges if not b.done()]  # type: ignore[attr-defined]
            if pending:
                client.cancel(pending)
            for bridge in bridges:
                _cancel(bridge)
            if completed is not None:
                completed.clear()  # the collector thread ends
        if cluster is not None:  # a temporary cluster's own client; shared ones stay open
            client.close()
            cluster.close()

    def __repr__(self) -> str:
        where = (
            f"address={self.address!r}" if self.address else f"cluster_class={self.cluster_class!r}"
        )
        return f"DaskTaskRunner({where})"


_shared_lock = threading.Lock()
_shared_clients: dict[str, tuple[Any, Any]] = {}


def _shared_client(address: str, client_kwargs: dict[str, Any], plugin: FlowtelWorkerPlugin) -> Any:
    """One client per scheduler address (and client_kwargs) in this process, for every flow
    run: connecting costs a round trip and an event loop per client. The worker plugin is
    registered again only when this process's telemetry settings changed."""
    key = f"{address} {sorted(client_kwargs.items())!r}"
    with _shared_lock:
        client, registered = _shared_clients.get(key, (None, None))
        if client is None or client.status in ("closing", "closed"):
            client, registered = distributed.Client(address, **client_kwargs), None
            if not _shared_clients:
                atexit.register(_close_shared_clients)
        state = (plugin.settings, plugin.options, plugin.service_name)
        if state != registered:
            client.register_plugin(plugin, name="flowtel")
        _shared_clients[key] = (client, state)
        return client


def _close_shared_clients() -> None:
    with _shared_lock:
        clients = [client for client, _ in _shared_clients.values()]
        _shared_clients.clear()
    for client in clients:
        try:
            client.close()
        except Exception:
            pass


def _cluster_class(cluster_class: str | Callable[..., Any] | None) -> Callable[..., Any]:
    if cluster_class is None:
        return distributed.LocalCluster
    if not isinstance(cluster_class, str):
        return cluster_class
    module_name, _, name = cluster_class.rpartition(".")
    try:
        import importlib

        return getattr(importlib.import_module(module_name), name)  # type: ignore[no-any-return]
    except (ImportError, AttributeError, ValueError) as error:
        raise ValueError(
            f"cluster_class={cluster_class!r} cannot be imported ({error}); give the class or "
            "its full dotted name, e.g. 'distributed.LocalCluster'"
        ) from error


def _cancel(bridge: concurrent.futures.Future) -> None:
    # The run's shutdown and the results thread may both get here.
    if bridge.cancel():
        try:
            bridge.set_running_or_notify_cancel()
        except RuntimeError:  # the other one already notified the waiters
            pass


def _record_lost_call(flow: Any, task_name: str, failure: BaseException) -> None:
    """A call whose record never came back (its worker died, its result did not unpickle)
    still counts as a failed task of the run, with an ERROR message saying why: a run that
    never asks for that future's result must not look clean (the call's own span may never
    have been exported)."""
    if flow is None:
        return
    try:
        with flow._lock:
            flow.failed_tasks += 1
        flow._message(
            logging.ERROR,
            "Task '%s' failed on Dask and its record did not come back: %s",
            (task_name, error_text(failure)),
            None,
        )
    except Exception:
        RUNTIME.internal_error("dask lost call")


def _settled(bridge: concurrent.futures.Future, value: Any, error: BaseException | None) -> None:
    try:
        if error is None:
            bridge.set_result(value)
        else:
            bridge.set_exception(error)
    except concurrent.futures.InvalidStateError:  # cancelled by the run's shutdown meanwhile
        pass


def _upstream(value: Any) -> Any:
    """A future of this runner travels as its Dask future (resolved on the worker side)."""
    if isinstance(value, TaskRunFuture):
        dask_future = getattr(value._future, "dask_future", None)
        if dask_future is not None:
            return dask_future
        return value.result()
    return value


def _unpicklable(
    call: Any, args_list: list[tuple], kwargs_list: list[dict], flow_snapshot: Any
) -> str | None:
    import cloudpickle

    candidates: list[tuple[str, Any]] = [("the task function", call)]
    for args, kwargs in zip(args_list, kwargs_list, strict=True):
        candidates += [(f"argument {i}", value) for i, value in enumerate(args)]
        candidates += [(f"argument {name!r}", value) for name, value in kwargs.items()]
    if flow_snapshot is not None:
        candidates += [(f"flow_data[{key!r}]", v) for key, v in flow_snapshot[3].items()]
    for where, value in candidates:
        try:
            cloudpickle.dumps(value)
        except Exception:
            return f"{where} (a {type(value).__name__})"
    return None


# -- workers ---------------------------------------------------------------------------


class FlowtelWorkerPlugin(distributed.WorkerPlugin):
    """Sets up flowtel's telemetry on each worker (registered by DaskTaskRunner).

    A worker that has OTel providers keeps them. One with ``OTEL_EXPORTER_OTLP_ENDPOINT``
    (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is configured from its environment; any
    other with ``settings`` (the flow process's ``flowtel.configure()`` settings), if they
    name an endpoint. Either way the resource has the worker's ``host.name``,
    ``process.pid`` and ``service.instance.id``, and ``service.name`` is the flow's unless
    the worker sets ``OTEL_SERVICE_NAME``.
    """

    def __init__(
        self, settings: dict[str, Any] | None, options: dict[str, Any], service_name: str | None
    ) -> None:
        self.settings = settings
        self.options = options
        self.service_name = service_name

    @classmethod
    def for_this_process(cls) -> FlowtelWorkerPlugin:
        """A plugin carrying this process's flowtel settings, options and service name."""
        settings = dict(_configure._State.settings) if _configure._State.configured else None
        options = {
            "export_level": RUNTIME.export_level,
            "record_arguments": RUNTIME.record_arguments,
            "record_return_values": RUNTIME.record_return_values,
            "attribute_value_limit": RUNTIME.attribute_value_limit,
        }
        return cls(settings, options, _service_name())

    def setup(self, worker: Any = None) -> None:
        self.how = configure_worker(self.settings, self.options, self.service_name)

    def teardown(self, worker: Any = None) -> None:
        _configure.force_flush()


def configure_worker(
    settings: dict[str, Any] | None, options: dict[str, Any], flow_service_name: str | None
) -> str:
    """Configure flowtel in this worker process; returns how ("own", "environment",
    "flow settings" or "none")."""
    if _configure._State.configured or not isinstance(
        trace.get_tracer_provider(), trace.ProxyTracerProvider
    ):
        return "own"
    resource = {"host.name": socket.gethostname(), "process.pid": os.getpid()}
    if settings:
        resource = {**(settings.get("resource_attributes") or {}), **resource}
    env_endpoint = _configure._env("OTEL_EXPORTER_OTLP_ENDPOINT") or _configure._env(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )
    service_name = None if _configure._env("OTEL_SERVICE_NAME") else flow_service_name
    if env_endpoint:
        _configure.configure(
            service_name=service_name,
            resource_attributes=resource,
            console=False,
            handle_sigterm=False,  # the worker's own shutdown is Dask's
            **options,
        )
        return "environment"
    if settings and settings.get("endpoint"):
        _configure.configure(
            service_name=service_name,
            endpoint=settings["endpoint"],
            protocol=settings.get("protocol"),
            headers=settings.get("headers"),
            console=False,
            resource_attributes=resource,
            handle_sigterm=False,
            **options,
        )
        return "flow settings"
    return "none"


def _service_name() -> str | None:
    provider = (
        RUNTIME._providers[0] if RUNTIME._providers is not None else trace.get_tracer_provider()
    )
    resource = getattr(provider, "resource", None)
    if resource is None:
        return None
    name = resource.attributes.get("service.name")
    return str(name) if name else None
