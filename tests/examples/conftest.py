"""Pulumi mocks for the application stack example, with global state put back after."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import settings

APP_DIR = Path(__file__).resolve().parents[2] / "examples" / "app-stack"
KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


class KeyStoreMocks(pulumi.runtime.Mocks):
    """Answers for the key store's StackReference, getRegion and every resource."""

    def __init__(self, key_store_outputs: dict[str, Any], region: str) -> None:
        self.key_store_outputs = key_store_outputs
        self.region = region
        self.registered: dict[str, list[dict[str, Any]]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        self.registered.setdefault(args.typ, []).append(dict(args.inputs))
        if args.typ == "pulumi:pulumi:StackReference":
            # The engine reads a stack reference: its id is the stack name and
            # its state carries the referenced stack's outputs.
            state = {
                "name": args.inputs["name"],
                "outputs": self.key_store_outputs,
                "secret_output_names": [],
            }
            return args.inputs["name"], state
        state = dict(args.inputs)
        if args.typ == "aws:s3/bucket:Bucket":
            state["bucket"] = f"{args.name}-4f2a9c"
            state["arn"] = f"arn:aws:s3:::{args.name}-4f2a9c"
        return f"{args.name}-id", state

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict, list[tuple[str, str]] | None]:
        if args.token == "aws:index/getRegion:getRegion":
            region = {"id": self.region, "name": self.region, "region": self.region}
            return region, []
        raise NotImplementedError(f"no mock for invoke {args.token}")

    def inputs_of(self, type_token: str) -> list[dict[str, Any]]:
        return self.registered.get(type_token, [])


InstallMocks = Callable[..., KeyStoreMocks]


def _ignore_unretrieved_app_stack_errors(
    loop: asyncio.AbstractEventLoop, context: dict[str, Any]
) -> None:
    # A failing key ARN also fails the futures of every resource that uses it;
    # nobody awaits those, and their garbage collection would print each one.
    from encrypted_storage import AppStackError

    if isinstance(context.get("exception"), AppStackError):
        return
    loop.default_exception_handler(context)


class _ThreadLoopClosingExecutor(ThreadPoolExecutor):
    """Runs pulumi's monitor calls, closing the event loop each call opens.

    The mock monitor opens an event loop in every worker thread it runs in and
    never closes it; left open, each one reports an error when collected.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return super().submit(_run_then_close_thread_loop, fn, *args, **kwargs)


def _run_then_close_thread_loop(
    fn: Callable[..., Any], *args: Any, **kwargs: Any
) -> Any:
    try:
        return fn(*args, **kwargs)
    finally:
        policy = asyncio.get_event_loop_policy()
        try:
            thread_loop = policy.get_event_loop()
        except RuntimeError:
            thread_loop = None
        if thread_loop is not None:
            thread_loop.close()
            policy.set_event_loop(None)


@pytest.fixture
def event_loop_for_pulumi() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(_ignore_unretrieved_app_stack_errors)
    loop.set_default_executor(_ThreadLoopClosingExecutor())
    asyncio.set_event_loop(loop)
    yield loop

    # Let registrations still in flight finish (mocks answer at once) rather than
    # cancel them, so no coroutine is left un-awaited.
    pending = asyncio.gather(*asyncio.all_tasks(loop), return_exceptions=True)
    loop.run_until_complete(asyncio.wait_for(pending, timeout=10))
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def app_mocks(
    event_loop_for_pulumi: asyncio.AbstractEventLoop,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[InstallMocks]:
    """Install mocks for one key store; the program dir goes on sys.path."""
    monkeypatch.syspath_prepend(str(APP_DIR))

    def install(
        key_store_outputs: dict[str, Any] | None = None,
        region: str = "us-east-1",
        config: dict[str, str] | None = None,
    ) -> KeyStoreMocks:
        outputs = (
            {"kmsKeyArn": KEY_ARN} if key_store_outputs is None else key_store_outputs
        )
        mocks = KeyStoreMocks(outputs, region)
        pulumi.runtime.set_all_config(config or {})
        pulumi.runtime.set_mocks(mocks, project="fips-keystore-app", stack="dev")
        return mocks

    yield install

    settings.reset_options()
    pulumi.runtime.set_all_config({}, secret_keys=[])


@pytest.fixture
def resolve(
    event_loop_for_pulumi: asyncio.AbstractEventLoop,
) -> Callable[[pulumi.Output[Any]], Any]:
    """Wait for an output on the test's event loop and return its value."""

    def wait(output: pulumi.Output[Any]) -> Any:
        return event_loop_for_pulumi.run_until_complete(output.future())

    return wait
