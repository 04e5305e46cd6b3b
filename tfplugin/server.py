"""The schema-only provider plugin: go-plugin's handshake and tfplugin6 over gRPC.

Terraform runs any executable named ``terraform-provider-NAME`` that a CLI configuration names
under ``dev_overrides`` (see :mod:`core.terraform.plugin.toolchain`); that executable runs
``python -S -m tfplugin NAME``. It listens on a unix socket with TLS, prints
``1|6|unix|SOCKET|grpc|CERT`` (go-plugin's handshake; CERT is the base64 DER server certificate
Terraform pins) and serves the Provider service until Terraform stops it. Nothing here opens a
network connection: the only socket is the plugin's own.

Its files, in ``$ARCHOPS_PLUGIN_DIR`` (prepared at setup): ``plugin-schema-NAME.marshal`` (the
schema, for planning), ``plugin-schema-NAME.pb`` (the serialized GetProviderSchema response) and
``plugin-tls.{key,crt,der}`` (the server certificate Terraform pins).
"""

from __future__ import annotations

import base64
import os
import sys
import tempfile
import threading
from concurrent import futures
from pathlib import Path
from typing import Any

from tfplugin import behaviour, scope
from tfplugin.values import decode, encode, type_json, wholly_known

MAGIC_COOKIE_KEY = "TF_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"


def _pb() -> Any:
    from tf.gen import tfplugin_pb2

    return tfplugin_pb2


def _diag(summary: str, detail: str = "", warning: bool = False) -> Any:
    pb = _pb()
    return pb.Diagnostic(severity=pb.Diagnostic.WARNING if warning else pb.Diagnostic.ERROR,
                         summary=summary, detail=detail)


def functions_proto() -> dict[str, Any]:
    pb = _pb()
    out = {}
    for name, spec in behaviour.FUNCTIONS.items():
        out[name] = pb.Function(
            parameters=[pb.Function.Parameter(name=p, type=type_json(t)) for p, t in spec["params"]],
            summary=spec["summary"], description=spec["summary"],
            **{"return": pb.Function.Return(type=type_json(spec["returns"]))},
        )
    return out


def plugin_dir() -> Path:
    where = os.environ.get("ARCHOPS_PLUGIN_DIR")
    if not where:
        raise RuntimeError("ARCHOPS_PLUGIN_DIR is not set: run the plugin through archops")
    return Path(where)


class Schemas:
    """The provider's block schemas, each unmarshalled on first use: a plan needs the few dozen
    types it uses, not all 2,400 (the file maps each type to its own marshal blob). With the
    plan's scope (:mod:`tfplugin.scope`) only the types the module names are served, pruned."""

    def __init__(self, provider: str, words: frozenset[str] | None = None) -> None:
        import marshal

        self._loads = marshal.loads
        raw = marshal.loads((plugin_dir() / f"plugin-schema-{provider}.marshal").read_bytes())
        self._raw: dict[str, dict[str, bytes]] = raw
        self.words = words
        self._cache: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._lock = threading.Lock()

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        key = (kind, name)
        if key not in self._cache:
            blob = self._raw.get(kind, {}).get(name)
            if self.words is not None and kind != "provider_config" and name not in self.words:
                blob = None
            block = self._loads(blob) if blob is not None else None
            if block is not None and self.words is not None:
                block = scope.prune(block, self.words)
            with self._lock:
                self._cache[key] = block
        return self._cache[key]

    def names(self, kind: str) -> list[str]:
        names = list(self._raw.get(kind, {}))
        return names if self.words is None else [n for n in names if n in self.words]

    def response(self, functions: dict[str, Any]) -> Any:
        """GetProviderSchema for the plan's scope."""
        config = self.get("provider_config", "")
        return scope.schema_response(
            config or {}, {n: b for n in self.names("resources")
                           if (b := self.get("resources", n)) is not None},
            {n: b for n in self.names("data_sources")
             if (b := self.get("data_sources", n)) is not None}, functions)


def load_schema_response(provider: str) -> Any:
    response = _pb().GetProviderSchema.Response.FromString(
        (plugin_dir() / f"plugin-schema-{provider}.pb").read_bytes())
    response.server_capabilities.CopyFrom(scope.capabilities())  # files written before it
    return response


def make_servicer(provider: str) -> Any:
    from tf.gen import tfplugin_pb2_grpc as rpc

    pb = _pb()

    class Servicer(rpc.ProviderServicer):  # type: ignore[misc]
        def __init__(self) -> None:
            self.state = behaviour.ProviderState(provider)
            self._schemas: Schemas | None = None
            self._words = scope.read()  # the module's words, when archops plans
            self._response: Any = None
            self._functions = functions_proto() if provider == "aws" else {}

        @property
        def schemas(self) -> Schemas:
            if self._schemas is None:
                self._schemas = Schemas(provider, self._words)
            return self._schemas

        def GetMetadata(self, request: Any, context: Any) -> Any:
            s = self.schemas
            return pb.GetMetadata.Response(
                server_capabilities=scope.capabilities(),
                resources=[pb.GetMetadata.ResourceMetadata(type_name=n)
                           for n in s.names("resources")],
                data_sources=[pb.GetMetadata.DataSourceMetadata(type_name=n)
                              for n in s.names("data_sources")],
                functions=[pb.GetMetadata.FunctionMetadata(name=n) for n in self._functions],
            )

        def GetProviderSchema(self, request: Any, context: Any) -> Any:
            if self._response is None:
                self._response = (load_schema_response(provider) if self._words is None
                                  else scope.cached_response(
                                      provider, lambda: self.schemas.response(self._functions)))
            return self._response

        def ValidateProviderConfig(self, request: Any, context: Any) -> Any:
            return pb.ValidateProviderConfig.Response()

        def ValidateResourceConfig(self, request: Any, context: Any) -> Any:
            return pb.ValidateResourceConfig.Response()

        def ValidateDataResourceConfig(self, request: Any, context: Any) -> Any:
            return pb.ValidateDataResourceConfig.Response()

        def ConfigureProvider(self, request: Any, context: Any) -> Any:
            errors = behaviour.configure(self.state, decode(request.config.msgpack), dict(os.environ))
            return pb.ConfigureProvider.Response(diagnostics=[_diag(e) for e in errors])

        def UpgradeResourceState(self, request: Any, context: Any) -> Any:
            # a plan-only provider keeps no state; pass the JSON state through as it is
            import json

            raw = json.loads(request.raw_state.json or b"null")
            return pb.UpgradeResourceState.Response(
                upgraded_state=pb.DynamicValue(msgpack=encode(raw)))

        def ReadResource(self, request: Any, context: Any) -> Any:
            return pb.ReadResource.Response(new_state=request.current_state,
                                            private=request.private)

        def PlanResourceChange(self, request: Any, context: Any) -> Any:
            block = self.schemas.get("resources", request.type_name)
            if block is None:
                return pb.PlanResourceChange.Response(
                    diagnostics=[_diag(f"unknown resource type {request.type_name}")])
            planned = behaviour.plan_resource(
                self.state, request.type_name, block, decode(request.proposed_new_state.msgpack),
                decode(request.prior_state.msgpack))
            return pb.PlanResourceChange.Response(planned_state=pb.DynamicValue(msgpack=encode(planned)))

        def ApplyResourceChange(self, request: Any, context: Any) -> Any:
            return pb.ApplyResourceChange.Response(diagnostics=[_diag(
                "archops' provider plugin only plans",
                "It serves the provider's schema so that Terraform can plan offline; apply with "
                "the real provider.")])

        def ImportResourceState(self, request: Any, context: Any) -> Any:
            # an `import` block: the object is the import id and nothing else the account holds
            # (this provider reads no account); ReadResource then passes it through, and the
            # plan fills what the configuration leaves to the provider as unknown
            block = self.schemas.get("resources", request.type_name)
            if block is None:
                return pb.ImportResourceState.Response(
                    diagnostics=[_diag(f"unknown resource type {request.type_name}")])
            state = behaviour.import_resource(request.type_name, block, request.id)
            return pb.ImportResourceState.Response(imported_resources=[
                pb.ImportResourceState.ImportedResource(
                    type_name=request.type_name, state=pb.DynamicValue(msgpack=encode(state)))])

        def ReadDataSource(self, request: Any, context: Any) -> Any:
            block = self.schemas.get("data_sources", request.type_name)
            if block is None:
                return pb.ReadDataSource.Response(
                    diagnostics=[_diag(f"unknown data source {request.type_name}")])
            config = decode(request.config.msgpack) or {}
            if not wholly_known(config):
                return pb.ReadDataSource.Response(diagnostics=[_diag(
                    f"{request.type_name}: configuration not known at plan")])
            state = behaviour.read_data_source(self.state, request.type_name, block, config)
            return pb.ReadDataSource.Response(state=pb.DynamicValue(msgpack=encode(state)))

        def GetFunctions(self, request: Any, context: Any) -> Any:
            response = pb.GetFunctions.Response()
            for name, fn in self._functions.items():
                response.functions[name].CopyFrom(fn)
            return response

        def CallFunction(self, request: Any, context: Any) -> Any:
            args = [decode(a.msgpack) for a in request.arguments]
            try:
                result = behaviour.call_function(request.name, args)
            except behaviour.FunctionFailed as exc:
                error = pb.FunctionError(text=str(exc))
                if exc.argument is not None:
                    error.function_argument = exc.argument
                return pb.CallFunction.Response(error=error)
            return pb.CallFunction.Response(result=pb.DynamicValue(msgpack=encode(result)))

        def StopProvider(self, request: Any, context: Any) -> Any:
            return pb.StopProvider.Response()

    servicer = Servicer()
    trace = os.environ.get("ARCHOPS_PLUGIN_TRACE")
    return _traced(servicer, trace) if trace else servicer


def _traced(servicer: Any, path: str) -> Any:
    """With ARCHOPS_PLUGIN_TRACE=FILE, every call's name and duration is appended to FILE."""
    import time

    def wrap(name: str, fn: Any) -> Any:
        def call(request: Any, context: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(request, context)
            finally:
                with open(path, "a") as out:
                    out.write(f"{os.getpid()} {t0:.4f} {name} {getattr(request, 'type_name', '')} "
                              f"{(time.perf_counter() - t0) * 1000:.1f}ms\n")
        return call

    for name in dir(servicer):
        if name[:1].isupper() and callable(getattr(servicer, name)):
            setattr(servicer, name, wrap(name, getattr(servicer, name)))
    return servicer


# -- TLS -----------------------------------------------------------------------------------
def certificate() -> tuple[bytes, bytes, bytes]:
    """(key PEM, certificate PEM, certificate DER), made once at setup and kept 0600."""
    d = plugin_dir()
    return ((d / "plugin-tls.key").read_bytes(), (d / "plugin-tls.crt").read_bytes(),
            (d / "plugin-tls.der").read_bytes())


# -- serving -------------------------------------------------------------------------------
def serve(provider: str) -> int:
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE:
        print("This is a Terraform provider plugin: Terraform runs it; it is not run by hand.",
              file=sys.stderr)
        return 1
    import grpc
    from tf.gen import grpc_controller_pb2 as controller_pb
    from tf.gen import grpc_controller_pb2_grpc as controller_rpc
    from tf.gen import grpc_stdio_pb2_grpc as stdio_rpc
    from tf.gen import tfplugin_pb2_grpc as rpc

    done = threading.Event()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         options=[("grpc.max_send_message_length", 256 << 20),
                                  ("grpc.max_receive_message_length", 256 << 20)])
    rpc.add_ProviderServicer_to_server(make_servicer(provider), server)

    class Controller(controller_rpc.GRPCControllerServicer):  # type: ignore[misc]
        def Shutdown(self, request: Any, context: Any) -> Any:
            done.set()
            return controller_pb.Empty()

    class Stdio(stdio_rpc.GRPCStdioServicer):  # type: ignore[misc]
        def StreamStdio(self, request: Any, context: Any) -> Any:
            done.wait()
            return iter(())

    controller_rpc.add_GRPCControllerServicer_to_server(Controller(), server)
    stdio_rpc.add_GRPCStdioServicer_to_server(Stdio(), server)
    key_pem, cert_pem, cert_der = certificate()
    with tempfile.TemporaryDirectory(prefix="archops-plugin-") as tmp:
        sock = f"{tmp}/plugin.sock"
        server.add_secure_port(f"unix://{sock}", grpc.ssl_server_credentials([(key_pem, cert_pem)]))
        server.start()
        cert = base64.b64encode(cert_der).decode().rstrip("=")
        sys.stdout.write(f"1|6|unix|{sock}|grpc|{cert}\n")
        sys.stdout.flush()
        try:
            while not done.wait(0.2):
                if os.getppid() == 1:  # Terraform is gone
                    break
        except KeyboardInterrupt:
            pass
        server.stop(grace=0.2)
    return 0


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -S -m tfplugin PROVIDER", file=sys.stderr)
        return 2
    return serve(argv[0])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
