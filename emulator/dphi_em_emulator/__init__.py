"""Local emulator of the DPhi Space CG2 EM API."""
