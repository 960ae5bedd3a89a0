from enum import Enum


class OperationStatus(str, Enum):
    C = "C"
    F = "F"
    NS = "NS"
    P = "P"
    S = "S"

    def __str__(self) -> str:
        return str(self.value)
