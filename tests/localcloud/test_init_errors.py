"""A handler module that cannot be loaded fails its invocation with the Python runtime's own error types."""

from __future__ import annotations

import io
import zipfile

import pytest

from localcloud.function_environment import installed
from localcloud.lambda_runtime import InvocationError, LocalFunction


def function(source: str, handler: str = "broken.app.handler") -> LocalFunction:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("broken/__init__.py", "")
        zipped.writestr("broken/app.py", source)
    arn = "arn:aws:lambda:us-east-1:123456789012:function:broken"
    return LocalFunction.from_archive("broken", arn, handler, archive.getvalue(), environment={})


@pytest.mark.parametrize(
    ("source", "handler", "error_type", "message"),
    [
        (
            "def handler(event, context)\n    return 1\n",
            "broken.app.handler",
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module 'broken.app': expected ':'",
        ),
        (
            "import no_such_library\n",
            "broken.app.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'broken.app': No module named 'no_such_library'",
        ),
        (
            "def other(event, context):\n    return 1\n",
            "broken.app.handler",
            "Runtime.HandlerNotFound",
            "Handler 'handler' missing on module 'broken.app'",
        ),
        ("raise KeyError('TABLE_NAME')\n", "broken.app.handler", "KeyError", "'TABLE_NAME'"),
    ],
)
def test_an_init_failure_is_reported_as_the_python_runtime_reports_it(
    source: str, handler: str, error_type: str, message: str
):
    with installed(), pytest.raises(InvocationError) as caught:
        function(source, handler).invoke({})
    assert caught.value.error_type == error_type
    assert caught.value.error_message.startswith(message), caught.value.error_message
