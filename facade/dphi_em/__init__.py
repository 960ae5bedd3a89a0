"""dphi-em: Python client for the DPhi Space CG2 EM API."""
