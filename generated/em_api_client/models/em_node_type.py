from enum import StrEnum


class EmNodeType(StrEnum):
    FPGA = "FPGA"
    GPU = "GPU"
    MPU = "MPU"

    def __str__(self) -> str:
        return str(self.value)
