"""What the fault suite's tests and fixtures share: its users."""

from __future__ import annotations

#: The users of the emulators this suite starts (passwords unlike any other text in a log).
FAULT_PASSWORD = "pw-Fault-Q7v2x"
FAULT_USERS = {"client1": FAULT_PASSWORD}
