"""An emulator of the accounting department's 1C:Бухгалтерия publishing ExpoExchange.

A real HTTP SOAP server (werkzeug + lxml) that serves the same WSDL the client ships, keeps its
state in its own SQLite file (counterparties, documents, budgets, payments, the exchange-plan
counters and registered changes), lets a person enter bank payments, and injects faults on demand.
It exists for development and tests; production talks to the real 1C.
"""

from accounting_sync.emulator.app import SERVICE_PATH, EmulatorApp
from accounting_sync.emulator.faults import FAULT_KINDS, OPERATIONS, FaultPlan, FaultSpec
from accounting_sync.emulator.server import (
    DEFAULT_USER,
    EmulatorServer,
    start_emulator,
    stored_password,
)
from accounting_sync.emulator.storage import (
    EmulatorInputError,
    EmulatorStorage,
    ExchangeError,
    NodeState,
)

__all__ = [
    "DEFAULT_USER",
    "FAULT_KINDS",
    "OPERATIONS",
    "SERVICE_PATH",
    "EmulatorApp",
    "EmulatorInputError",
    "EmulatorServer",
    "EmulatorStorage",
    "ExchangeError",
    "FaultPlan",
    "FaultSpec",
    "NodeState",
    "start_emulator",
    "stored_password",
]
