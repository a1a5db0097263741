"""The errors of the accounting exchange. The client turns every transport/SOAP failure into one.

The classes say what the caller should do: `AccountingUnavailable` is worth retrying later (with the
same message number); the others need a person (credentials, 1C's data, a contract mismatch).
Messages are in Russian: they end up in the exchange log a manager or an accountant reads.
"""

from __future__ import annotations


class AccountingError(Exception):
    """Base class: the exchange with the accounting system failed. `message` is human-readable."""

    #: Whether repeating the same call later may succeed without anybody changing anything.
    retryable: bool = False

    def __init__(self, message: str, *, operation: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation

    def __str__(self) -> str:
        if self.operation:
            return f"{self.operation}: {self.message}"
        return self.message


class AccountingUnavailable(AccountingError):
    """1C did not answer usefully: connection refused/reset/dropped, timeout, HTTP 5xx, broken XML.

    Whether the call reached 1C is unknown, so a Put* must be repeated with the same MessageNo
    (1C drops it as a duplicate if it did arrive).
    """

    retryable = True


class AccountingAuthError(AccountingError):
    """HTTP 401/403: the exchange user name or password is wrong, or the user lacks the right."""


class AccountingFault(AccountingError):
    """1C answered with a SOAP Fault; `fault_text` is 1C's own error text, `code` the fault code."""

    def __init__(
        self,
        message: str,
        *,
        fault_text: str = "",
        code: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation)
        self.fault_text = fault_text
        self.code = code


class AccountingProtocolError(AccountingError):
    """The answer breaks the contract or the XML safety rules (a DTD, entities, a wrong shape)."""
