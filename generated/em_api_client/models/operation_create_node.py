from enum import Enum


class OperationCreateNode(str, Enum):
    FPGA = "FPGA"
    GPU = "GPU"
    MPU = "MPU"

    def __str__(self) -> str:
        return str(self.value)
