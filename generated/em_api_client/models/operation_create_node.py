from enum import StrEnum


class OperationCreateNode(StrEnum):
    FPGA = "FPGA"
    GPU = "GPU"
    MPU = "MPU"

    def __str__(self) -> str:
        return str(self.value)
