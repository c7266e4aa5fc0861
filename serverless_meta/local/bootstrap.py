"""The runtime inside one execution environment: a worker process that runs one function.

Started by local mode as ``<python> bootstrap.py <channel fd> <parent fd>``, on the runtime's
interpreter where the machine has it, so this file imports only the standard library: the
function's own code and packages are all it may find besides. Like Lambda's runtime, it
imports the handler once (the INIT phase), then runs invocations one at a time until it is
stopped, each with a context object, each answered with the handler's result or its error.

The channel is a Unix socket shared with local mode, carrying frames: a 4-byte big-endian
length, then that many bytes of JSON. Local mode sends ``{"event", "context"}``; the worker
answers ``{"result"}`` or ``{"error"}``, and sends one ``{"init"}`` or ``{"error"}`` frame after
INIT. A frame pipe rather than the Lambda Runtime API's HTTP: no HTTP parsing on either side,
and a worker that dies is an immediate end-of-file, not a request that hangs.

The parent fd is the read end of a pipe nobody writes to: it reaches end-of-file when local
mode's process ends, however it ends (even SIGKILL), and then this worker ends too.

Only syntax every Python runtime Lambda still offers can read (3.9 and later): it may run on any.
"""

import importlib
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import traceback

_LENGTH = struct.Struct(">I")


class LambdaContext:
    """The context object Lambda's Python runtime passes to a handler."""

    def __init__(self, context):
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.invoked_function_arn = context["invoked_function_arn"]
        self.aws_request_id = context["aws_request_id"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = context["deadline_ms"]

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))


def _receive(channel):
    header = _read_exactly(channel, _LENGTH.size)
    if header is None:
        return None
    body = _read_exactly(channel, _LENGTH.unpack(header)[0])
    return None if body is None else json.loads(body)


def _read_exactly(channel, size):
    data = bytearray()
    while len(data) < size:
        chunk = channel.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def _frame(message):
    body = json.dumps(message).encode()
    return _LENGTH.pack(len(body)) + body


def _send(channel, message):
    channel.sendall(_frame(message))


def _error(kind, error):
    """Lambda's error shape; the stack trace goes to the log, as Lambda's runtime writes it there."""
    message = str(error)
    print(f"[ERROR] {kind}: {message}", file=sys.stderr)
    traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    return {"error": {"errorType": kind, "errorMessage": message}}


def _flush():
    """The handler's output reaches the console before local mode logs the request's line."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def _exit_with_parent(parent_fd):
    os.read(parent_fd, 1)  # returns only at end-of-file: local mode is gone
    os._exit(1)


def _load_handler():
    module_name, _, attribute = os.environ["_HANDLER"].rpartition(".")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except Exception as error:
        return None, _error("Runtime.ImportModuleError", error)
    handler = getattr(module, attribute, None)
    if not callable(handler):
        return None, _error("Runtime.HandlerNotFound", AttributeError(f"Handler '{attribute}' missing on module '{module_name}'"))
    return handler, None


def _listen_for_debugger(port):
    """debugpy, from the function's interpreter, waits for a debugger (VS Code's "attach") on ``port``."""
    try:
        import debugpy

        debugpy.listen(("127.0.0.1", port))
    except Exception as error:
        return _error("Runtime.DebuggerError", error)
    print(f"debugpy is listening on 127.0.0.1:{port}: attach a debugger to it", file=sys.stderr, flush=True)
    return None


def main():
    channel = socket.socket(fileno=int(sys.argv[1]))
    threading.Thread(target=_exit_with_parent, args=(int(sys.argv[2]),), daemon=True).start()
    if not os.environ.get("_SERVERLESS_META_ATTACHED"):
        # Ctrl-C reaches the whole process group: local mode stops its environments itself.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.pop("_SERVERLESS_META_ATTACHED", None)
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path[0] = task_root  # in place of this file's directory, as Lambda puts /var/task first
    os.chdir(task_root)

    debugpy_port = os.environ.pop("_SERVERLESS_META_DEBUGPY", None)
    if debugpy_port:
        failure = _listen_for_debugger(int(debugpy_port))
        if failure is not None:
            _send(channel, failure)
            return

    started = time.perf_counter()
    handler, failure = _load_handler()
    _flush()
    if failure is not None:
        _send(channel, failure)
        return
    _send(channel, {"init": (time.perf_counter() - started) * 1000})

    while True:
        invocation = _receive(channel)
        if invocation is None:
            return
        try:
            result = handler(invocation["event"], LambdaContext(invocation["context"]))
        except Exception as error:
            answer = _error(type(error).__name__, error)
        else:
            answer = {"result": result}
        try:
            body = _frame(answer)
        except (TypeError, ValueError) as error:  # a result JSON cannot carry
            body = _frame(_error("Runtime.MarshalError", error))
        _flush()
        channel.sendall(body)


if __name__ == "__main__":
    main()
