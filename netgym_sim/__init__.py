"""netgym simulator: a fake NetworkGym server backed by a SimPy network model."""
