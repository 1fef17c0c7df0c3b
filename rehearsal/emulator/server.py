"""The emulator process: moto's threaded server behind our WSGI middleware.

Requests pass, in order: `/_emulator/...` control routes; fault injection;
call recording; the operation handlers registered by our models; moto.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import re
import tempfile
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from . import moto_internals
from .calls import CallLog
from .clock import SimulatedClock
from .errors import EmulatorError
from .faults import FaultPlan
from .profiles import PROFILES

logger = logging.getLogger(__name__)

CONTROL_PREFIX = "/_emulator/"
# Model modules of this package that plug themselves in through install().
PLUGINS = ("cloudhsm", "kms_key_stores", "ssm_run", "secrets_deletion")
# The AWS managed policies the emulated account offers when asked to load them
# (MOTO_IAM_LOAD_MANAGED_POLICIES=true): moto would otherwise parse 4.7 MB of
# JSON into 1,500 policies for every fresh IAM backend, seconds each time.
AWS_MANAGED_POLICIES = ("AmazonSSMManagedInstanceCore",)
# SigV4 signing names that differ from botocore's service names.
SIGNING_NAMES = {"cloudhsm": "cloudhsmv2"}
# EC2 wraps query errors in <Response><Errors>; IAM, STS and others do not.
EC2_STYLE_QUERY_SERVICES = ("ec2",)

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/")
_XML_ERROR_CODE = re.compile(rb"<Code>([^<]+)</Code>")

StartResponse = Callable[..., Any]
Environ = dict[str, Any]


@dataclass
class EmulatorRequest:
    service: str
    operation: str
    params: dict[str, Any]
    region: str
    headers: dict[str, str]
    body: bytes
    emulator: Emulator
    protocol: str  # "json", "query" or "rest"


@dataclass
class EmulatorResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


OperationHandler = Callable[[EmulatorRequest], EmulatorResponse | None]
ControlHandler = Callable[[dict[str, Any]], Any]


class ControlRequestError(EmulatorError):
    """A control route was called with a bad body; answered as HTTP 400."""


def json_response(payload: dict[str, Any], status: int = 200) -> EmulatorResponse:
    body = json.dumps(payload).encode()
    return EmulatorResponse(
        status, body, {"Content-Type": "application/x-amz-json-1.1"}
    )


def json_error(status: int, code: str, message: str) -> EmulatorResponse:
    """An error in the AWS JSON protocol shape that botocore parses."""
    response = json_response({"__type": code, "message": message}, status)
    response.headers["x-amzn-ErrorType"] = code
    return response


def query_error(
    status: int, code: str, message: str, service: str = "ec2"
) -> EmulatorResponse:
    """An error in the AWS query protocol XML shape (EC2's or the common one)."""
    error = f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
    if service in EC2_STYLE_QUERY_SERVICES:
        xml = (
            f"<Response><Errors><Error>{error}</Error></Errors>"
            "<RequestID>emulator</RequestID></Response>"
        )
    else:
        xml = (
            f"<ErrorResponse><Error><Type>Sender</Type>{error}</Error>"
            "<RequestId>emulator</RequestId></ErrorResponse>"
        )
    return EmulatorResponse(status, xml.encode(), {"Content-Type": "text/xml"})


class Emulator:
    """moto plus our models, on 127.0.0.1, with a simulated clock and faults.

    moto keeps its state in process-wide globals: `start` resets it, so run
    one emulator per process at a time.
    Known gap: of the AWS managed IAM policies only those in
    `AWS_MANAGED_POLICIES` exist (the ones the program attaches).
    """

    def __init__(
        self,
        profile: str = "fast",
        workdir: Path | None = None,
        region: str = "us-east-1",
        seed: int = 0,
        port: int = 0,
    ) -> None:
        if profile not in PROFILES:
            raise EmulatorError(
                f"unknown timing profile {profile!r}; use one of {', '.join(PROFILES)}"
            )
        self.profile = PROFILES[profile]
        # Absolute: instance scripts run with their sandbox as working directory,
        # where a relative path would point somewhere else.
        self.workdir = (
            workdir or Path(tempfile.mkdtemp(prefix="fips-emulator-"))
        ).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.region = region
        self.seed = seed
        self.clock = SimulatedClock()
        self.faults = FaultPlan(seed=seed)
        self.calls = CallLog()
        # Finished waits reported by the waiters (providers.waiting.WaitRecord).
        self.waits: list[dict[str, Any]] = []
        self.models = types.SimpleNamespace()
        self._requested_port = port
        self._operations: dict[tuple[str, str], OperationHandler] = {}
        self._routes: dict[tuple[str, str], ControlHandler] = {}
        self._server: _WrappedMotoServer | None = None

        self._register_control_routes()
        self._install_plugins()

    @property
    def state(self) -> types.SimpleNamespace:
        return self.models

    @property
    def cloudhsm(self) -> Any:
        return self.models.cloudhsm

    def register_operation(
        self, service: str, operation: str, handler: OperationHandler
    ) -> None:
        """Answer `service`'s `operation` with `handler` (None means: ask moto)."""
        self._operations[(service, operation)] = handler

    def register_route(self, method: str, path: str, handler: ControlHandler) -> None:
        """Serve a JSON control route under /_emulator/ (never faulted or recorded)."""
        if not path.startswith(CONTROL_PREFIX):
            raise EmulatorError(
                f"control route {path!r} must start with {CONTROL_PREFIX!r}"
            )
        self._routes[(method.upper(), path)] = handler

    def moto_backend(self, service: str) -> Any:
        """moto's backend for `service` in the default account and our region."""
        return moto_internals.backend(service, self.region)

    def start(self) -> Emulator:
        moto_internals.offer_only_managed_policies(AWS_MANAGED_POLICIES)
        moto_internals.forget_every_backend()
        self._server = _WrappedMotoServer(self, port=self._requested_port)
        self._server.start()
        logger.info(
            "emulator listening on %s (profile %s)", self.url, self.profile.name
        )
        return self

    def stop(self) -> None:
        self.clock.close()
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise EmulatorError("the emulator is not running; call start() first")
        return self._server.get_host_and_port()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The standard AWS environment, plus our clock, pointing at this emulator."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "FIPS_KEYSTORE_CLOCK_URL": f"{self.url}/_emulator/clock",
        }

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def operation_handler(
        self, service: str, operation: str
    ) -> OperationHandler | None:
        return self._operations.get((service, operation))

    def route_handler(self, method: str, path: str) -> ControlHandler | None:
        return self._routes.get((method, path))

    def _install_plugins(self) -> None:
        for name in PLUGINS:
            module_name = f"{__package__}.{name}"
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as error:
                if error.name != module_name:
                    raise
                continue
            module.install(self)

    def _register_control_routes(self) -> None:
        self.register_route("GET", "/_emulator/about", self._about)
        self.register_route("GET", "/_emulator/clock", self._clock_now)
        self.register_route("POST", "/_emulator/clock/sleep", self._clock_sleep)
        self.register_route("POST", "/_emulator/clock/advance", self._clock_advance)
        self.register_route(
            "POST", "/_emulator/clock/participants", self._clock_participants
        )
        self.register_route("POST", "/_emulator/clock/waits", self._waits_add)
        self.register_route("GET", "/_emulator/clock/waits", self._waits_list)
        self.register_route("GET", "/_emulator/faults", self._faults_get)
        self.register_route("POST", "/_emulator/faults", self._faults_set)
        self.register_route("DELETE", "/_emulator/faults", self._faults_clear)
        self.register_route("GET", "/_emulator/calls", self._calls_list)

    def _about(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "now": self.clock.now(),
            "region": self.region,
            "profile": self.profile.name,
        }

    def _clock_now(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"now": self.clock.now(), "participants": self.clock.participants}

    def _clock_sleep(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"now": self.clock.sleep(_number(payload, "seconds"))}

    def _clock_advance(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            return {"now": self.clock.advance(_number(payload, "seconds"))}
        except ValueError as error:
            raise ControlRequestError(str(error)) from error

    def _clock_participants(self, payload: dict[str, Any]) -> dict[str, Any]:
        delta = payload.get("delta")
        if delta not in (1, -1):
            raise ControlRequestError(
                f"participants delta must be 1 or -1, got {delta!r}"
            )
        try:
            participants = self.clock.add_participants(delta)
        except ValueError as error:
            raise ControlRequestError(str(error)) from error
        return {"participants": participants, "now": self.clock.now()}

    def _waits_add(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.waits.append({**payload, "at": self.clock.now()})
        return {"now": self.clock.now(), "waits": len(self.waits)}

    def _waits_list(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"now": self.clock.now(), "waits": list(self.waits)}

    def _faults_get(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.faults.to_dict()

    def _faults_set(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.faults = FaultPlan.from_dict(payload, seed=self.seed)
        return self.faults.to_dict()

    def _faults_clear(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.faults = FaultPlan(seed=self.seed)
        return self.faults.to_dict()

    def _calls_list(self, payload: dict[str, Any]) -> list[dict[str, object]]:
        return self.calls.to_json()


def _number(payload: dict[str, Any], key: str) -> float:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ControlRequestError(
            f"{key} must be a number of simulated seconds, got {value!r}"
        )
    return float(value)


class EmulatorMiddleware:
    """The WSGI layer in front of moto (see the module docstring for its order)."""

    def __init__(self, emulator: Emulator, moto_app: Callable[..., Iterable[bytes]]):
        self.emulator = emulator
        self.moto_app = moto_app

    def __call__(
        self, environ: Environ, start_response: StartResponse
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            return self._serve_control(environ, start_response, path)

        request = _parse_aws_request(environ, self.emulator)
        if not request.service:
            return self.moto_app(environ, start_response)

        response = self._inject_fault(request)
        if response is None:
            handler = self.emulator.operation_handler(
                request.service, request.operation
            )
            response = handler(request) if handler else None
        if response is None:
            return self._pass_to_moto(environ, start_response, request)

        self._record(request, response.status, response.body)
        return _send(start_response, response)

    def _serve_control(
        self, environ: Environ, start_response: StartResponse, path: str
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        handler = self.emulator.route_handler(method, path)
        if handler is None:
            message = f"no control route {method} {path}"
            return _send(start_response, _control_json({"error": message}, 404))

        try:
            payload = _control_payload(environ)
            result = handler(payload)
        except EmulatorError as error:
            return _send(start_response, _control_json({"error": str(error)}, 400))
        return _send(start_response, _control_json(result, 200))

    def _inject_fault(self, request: EmulatorRequest) -> EmulatorResponse | None:
        draw = self.emulator.faults.draw()
        if draw is None:
            return None
        if draw == "throttled":
            message = "Rate exceeded (injected by the emulator's fault plan)"
            if request.protocol == "query":
                return query_error(400, "Throttling", message, request.service)
            return json_error(400, "ThrottlingException", message)

        message = "An internal error occurred (injected by the emulator's fault plan)"
        if request.protocol == "query":
            return query_error(500, "InternalError", message, request.service)
        return json_error(500, "InternalFailure", message)

    def _pass_to_moto(
        self, environ: Environ, start_response: StartResponse, request: EmulatorRequest
    ) -> Iterable[bytes]:
        seen: dict[str, int] = {}

        def capture(status: str, headers: list[Any], exc_info: Any = None) -> Any:
            seen["status"] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        result = self.moto_app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        self._record(request, seen.get("status", 500), body)
        return [body]

    def _record(self, request: EmulatorRequest, status: int, body: bytes) -> None:
        outcome = "ok" if status < 400 else _error_code(body)
        if outcome in ("Throttling", "ThrottlingException"):
            outcome = "throttled"
        elif outcome in ("InternalFailure", "InternalError") and status >= 500:
            outcome = "internal"
        self.emulator.calls.record(
            request.service, request.operation, self.emulator.clock.now(), outcome
        )
        logger.debug("%s %s -> %s", request.service, request.operation, outcome)


def _parse_aws_request(environ: Environ, emulator: Emulator) -> EmulatorRequest:
    body = _read_body(environ)
    headers = _headers(environ)
    scope = _CREDENTIAL_SCOPE.search(headers.get("Authorization", ""))
    region, signing_name = scope.groups() if scope else (emulator.region, "")
    service = SIGNING_NAMES.get(signing_name, signing_name)
    target = headers.get("X-Amz-Target", "")
    content_type = headers.get("Content-Type", "")

    if target:
        params = json.loads(body) if body.strip() else {}
        return EmulatorRequest(
            service,
            target.rpartition(".")[2],
            params,
            region,
            headers,
            body,
            emulator,
            "json",
        )
    form = body.decode() if "x-www-form-urlencoded" in content_type else ""
    query = environ.get("QUERY_STRING", "")
    params = {k: v[0] for k, v in parse_qs(f"{query}&{form}").items()}
    protocol = "query" if "Action" in params else "rest"
    operation = params.get("Action", "")
    return EmulatorRequest(
        service, operation, params, region, headers, body, emulator, protocol
    )


def _read_body(environ: Environ) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length else b""
    # moto reads the body again after us.
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _headers(environ: Environ) -> dict[str, str]:
    headers = {
        key[5:].replace("_", "-").title(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    return headers


def _control_payload(environ: Environ) -> dict[str, Any]:
    payload: dict[str, Any] = {
        k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()
    }
    body = _read_body(environ)
    if body.strip():
        try:
            decoded = json.loads(body)
        except json.JSONDecodeError as error:
            raise ControlRequestError(f"control body is not JSON: {error}") from error
        if not isinstance(decoded, dict):
            raise ControlRequestError("control body must be a JSON object")
        payload.update(decoded)
    return payload


def _control_json(payload: Any, status: int) -> EmulatorResponse:
    body = json.dumps(payload).encode()
    return EmulatorResponse(status, body, {"Content-Type": "application/json"})


def _error_code(body: bytes) -> str:
    try:
        decoded = json.loads(body)
    except ValueError:
        match = _XML_ERROR_CODE.search(body)
        return match.group(1).decode() if match else "error"
    code = decoded.get("__type", "error") if isinstance(decoded, dict) else "error"
    return str(code).rpartition("#")[2]


def _send(start_response: StartResponse, response: EmulatorResponse) -> list[bytes]:
    headers = {"Content-Length": str(len(response.body)), **response.headers}
    start_response(
        f"{response.status} {_reason(response.status)}", list(headers.items())
    )
    return [response.body]


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class _WrappedMotoServer:
    """moto's ThreadedMotoServer whose WSGI app is wrapped by our middleware."""

    def __init__(self, emulator: Emulator, port: int) -> None:
        self._moto_server = moto_internals.threaded_server(
            lambda moto_app: EmulatorMiddleware(emulator, moto_app), port
        )

    def start(self) -> None:
        self._moto_server.start()

    def stop(self) -> None:
        self._moto_server.stop()

    def get_host_and_port(self) -> tuple[str, int]:
        host, port = self._moto_server.get_host_and_port()
        return str(host), int(port)
